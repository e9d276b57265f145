import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeTestClip } from '../helpers/media.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';

const API_TOKEN = 'api-Secret-7f3a9c1e5b';
const PUBLISH_TOKEN = 'pub-Secret-2d8e4a6c0f';

/** What an operator reads: pino JSON lines, a job id on every job line, never a token. */
describe('logs', () => {
  let dir: string;
  let sp: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-logs-'));
    await makeTestClip(path.join(dir, 'media'), {
      seconds: 2,
      width: 320,
      height: 180,
      fps: 30,
      audio: true,
      name: 'clip.mp4',
    });
    sp = await ServiceProcess.start({
      env: {
        PORT: '0',
        DATA_DIR: path.join(dir, 'data'),
        MEDIA_DIR: path.join(dir, 'media'),
        HWACCEL: 'none',
        LOG_LEVEL: 'debug',
        API_TOKEN,
        PUBLISH_TOKEN,
        ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
        QUEUE_PREFIX: `logs${process.pid}`,
      },
    });
  }, 30_000);

  afterAll(async () => {
    await sp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carry the job id on every job line and never a token, even from requests that send one', async () => {
    const bad = await fetch(`${sp.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${PUBLISH_TOKEN}` },
      body: JSON.stringify({ name: 'clip.mp4', id: 'logs1' }),
    });
    expect(bad.status).toBe(401);
    const ok = await fetch(`${sp.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify({ name: 'clip.mp4', id: 'logs1', presetId: 'light' }),
    });
    expect(ok.status).toBe(202);
    await waitFor(
      'the job to complete',
      async () => {
        const j = (await (await fetch(`${sp.url}/api/jobs/logs1`)).json()) as { state: string };
        if (j.state === 'failed') throw new Error('job failed');
        return j.state === 'completed';
      },
      60_000,
      300,
    );
    await sp.close();

    const text = sp.output.join('');
    expect(text).not.toContain(API_TOKEN);
    expect(text).not.toContain(PUBLISH_TOKEN);
    const lines = text.split('\n').filter((l) => l.trim().startsWith('{'));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(3);
    for (const r of records) {
      expect(typeof r.level).toBe('number');
      expect(typeof r.msg).toBe('string');
    }
    const jobLines = records.filter((r) => /transcode|job/.test(String(r.msg)) && r.msg !== 'worker started');
    expect(jobLines.length).toBeGreaterThan(0);
    for (const r of jobLines) expect(r.jobId).toBe('logs1');
  }, 90_000);
});

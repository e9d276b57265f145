import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import { makeTestClip } from '../helpers/media.js';
import { pidsMatching, ServiceProcess, waitFor } from '../helpers/service-process.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

/**
 * A job survives its worker: two real `npm run worker` processes, the first is
 * killed with SIGKILL mid-transcode, the second finishes the job. The killed worker's
 * ffmpeg must not outlive it.
 */
describe('worker failover', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-failover-'));
  const prefix = `t${Date.now().toString(36)}fo`;
  const env = {
    REDIS_URL: process.env.REDIS_URL ?? '',
    QUEUE_PREFIX: prefix,
    DATA_DIR: path.join(dir, 'data'),
    MEDIA_DIR: path.join(dir, 'media'),
    PORT: '0',
    HWACCEL: 'none',
  };
  const owned: ServiceProcess[] = [];
  let api: ServiceProcess;
  let clip: string;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    clip = await makeTestClip(path.join(dir, 'media'), {
      seconds: 14,
      width: 1280,
      height: 720,
      fps: 30,
      audio: true,
    });
    api = await ServiceProcess.start({ env: { ...env, ROLES: 'api' } });
    owned.push(api);
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await Promise.all(owned.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
    turn?.release();
  });

  it('hands the job of a SIGKILLed worker to another worker, which completes it', async () => {
    const workerA = await ServiceProcess.start({ worker: true, env });
    owned.push(workerA);

    const res = await fetch(`${api.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: path.basename(clip), presetId: 'default', id: 'failover' }),
    });
    expect(res.status).toBe(202);

    const job = async () => (await (await fetch(`${api.url}/api/jobs/failover`)).json()) as JobView;
    await waitFor(
      'worker A to be transcoding',
      async () => ((await job()).progress?.outTimeMs ?? 0) > 0,
      60_000,
    );
    const ffmpegsOfA = pidsMatching(clip);
    expect(ffmpegsOfA.length).toBeGreaterThan(0);

    const workerB = await ServiceProcess.start({ worker: true, env });
    owned.push(workerB);
    await workerA.kill9();

    // The dead worker's ffmpeg goes with it (pdeathsig), not after its job's lock lapses.
    await waitFor(
      'the killed worker’s ffmpeg to exit',
      async () => pidsMatching(clip).every((p) => !ffmpegsOfA.includes(p)),
      5_000,
    );

    const done = await waitFor(
      'worker B to complete the job',
      async () => {
        const j = await job();
        if (j.state === 'failed') throw new Error(`job failed: ${j.failedReason}`);
        return j.state === 'completed' ? j : null;
      },
      150_000,
      500,
    );
    // A 1280x720 source: the default ladder's 1080p rung is left out (no upscaling).
    expect(done.result?.renditions).toEqual(['720p', '480p', '360p', 'audio']);
    expect(workerB.output.join('')).toMatch(/"jobId":"failover".*"msg":"job completed"/);

    const master = await fetch(`${api.url}/hls/failover/index.m3u8`);
    expect(master.status).toBe(200);
    expect(await master.text()).toContain('#EXT-X-STREAM-INF');
  }, 240_000);
});

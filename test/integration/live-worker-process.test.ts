import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LlhlsTracker } from '../helpers/llhls-check.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';
import { WhipTestClient } from '../helpers/whip-client.js';

/**
 * The media crosses processes: an API + ingest process with no worker role, and a
 * separate `npm run worker` process that reads the relay over HTTP, transcodes, packages
 * and announces parts over Redis to the origin in the first process.
 */
describe('live with the worker in another process', () => {
  let dir: string;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let client: WhipTestClient | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-split-'));
    const env = {
      DATA_DIR: path.join(dir, 'data'),
      HWACCEL: 'none',
      REDIS_URL: process.env.REDIS_URL ?? '',
      QUEUE_PREFIX: `split${process.pid}`,
    };
    api = await ServiceProcess.start({ env: { ...env, PORT: '0', ROLES: 'api,ingest' } });
    worker = await ServiceProcess.start({ worker: true, env });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all([api?.close(), worker?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('transcodes a WHIP stream in the worker process and serves blocking LL-HLS from the API process', async () => {
    expect(api.output.join('')).not.toMatch(/"msg":"worker started"/);
    client = await WhipTestClient.publish({ url: `${api.url}/whip/split?preset=light`, seconds: 12 });
    await waitFor(
      'index.m3u8',
      async () => (await fetch(`${api.url}/hls/split/index.m3u8`)).status === 200,
      30_000,
      100,
    );
    const tracker = new LlhlsTracker({
      rendition: '240p',
      renditions: ['360p', '240p', 'audio'],
      kind: 'video',
    });
    let p = tracker.check(await (await fetch(`${api.url}/hls/split/240p.m3u8`)).text());
    for (let i = 0; i < 6; i++) {
      const msn = p.mediaSequence + (p.skip?.skippedSegments ?? 0) + p.segments.length;
      const part = p.trailingParts?.length ?? 0;
      const res = await fetch(`${api.url}/hls/split/240p.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`);
      expect(res.status).toBe(200);
      p = tracker.check(await res.text());
      const hinted = p.trailingParts?.at(-1)?.uri ?? p.segments.at(-1)?.parts?.at(-1)?.uri;
      expect(hinted).toBeDefined();
      expect((await fetch(`${api.url}/hls/split/${hinted}`)).status).toBe(200);
    }
    // The worker process ran the live job: its log names the stream.
    expect(worker.output.join('')).toMatch(/"streamId":"split"/);
    expect((await client.delete()).status).toBe(200);
    await waitFor(
      'EXT-X-ENDLIST',
      async () => (await (await fetch(`${api.url}/hls/split/240p.m3u8`)).text()).includes('#EXT-X-ENDLIST'),
      30_000,
      200,
    );
  }, 120_000);
});

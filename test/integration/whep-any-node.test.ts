import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { h264NalType, splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';
import { WhepTestClient } from '../helpers/whep-client.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

const STREAM = 'anynode';

/**
 * WHEP on any API process, as behind a load balancer: one API + ingest process that holds
 * the publisher, two API-only processes and one worker, on one Redis (as the scale-out
 * test runs them). A viewer that lands on an API-only process plays the stream from the
 * ladder that process's origin receives on the bus; one that asks that process for
 * passthrough is redirected (307) to the ingest process, which has the publisher's RTP.
 */
describe('WHEP on any API process', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-anynode-'));
  const env = {
    REDIS_URL: process.env.REDIS_URL ?? '',
    QUEUE_PREFIX: `t${Date.now().toString(36)}an`,
    DATA_DIR: path.join(dir, 'data'),
    MEDIA_DIR: path.join(dir, 'media'),
    HWACCEL: 'none',
  };
  const owned: { close(): Promise<void> }[] = [];
  let ingest: ServiceProcess;
  const apis: ServiceProcess[] = [];

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    const started = await Promise.all([
      ServiceProcess.start({ env: { ...env, PORT: '0', ROLES: 'api,ingest' } }),
      ServiceProcess.start({ env: { ...env, PORT: '0', ROLES: 'api' } }),
      ServiceProcess.start({ env: { ...env, PORT: '0', ROLES: 'api' } }),
      ServiceProcess.start({ worker: true, env }),
    ]);
    owned.push(...started);
    ingest = started[0];
    apis.push(started[1], started[2]);
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await Promise.all(owned.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
    turn?.release();
  });

  it('plays from a process that does not hold the publisher, in rung mode', async () => {
    const publisher = await WhipTestClient.publish({
      url: `${ingest.url}/whip/${STREAM}?preset=light`,
      seconds: 40,
      x264Preset: 'ultrafast',
    });
    owned.unshift(publisher);
    await waitFor(
      'the ladder on an API-only process',
      async () => ((await fetch(`${apis[0]!.url}/hls/${STREAM}/index.m3u8`)).status === 200 ? true : null),
      40_000,
      100,
    );
    const viewers = [
      await WhepTestClient.create({ url: `${apis[0]!.url}/whep/${STREAM}` }),
      await WhepTestClient.create({ url: `${apis[1]!.url}/whep/${STREAM}`, mode: 'passthrough' }),
    ];
    owned.unshift(...viewers);
    for (const v of viewers) await v.play();
    await waitFor(
      'frames and audio on both',
      async () => (viewers.every((v) => v.frames.length >= 20 && v.audio.length >= 20) ? true : null),
      15_000,
      100,
    );
    for (const v of viewers) {
      console.log(`first frame ${v.frames[0]!.atMs - v.postedAtMs} ms after the POST`);
      // A key frame with its parameter sets came (the first complete one: a loaded runner may
      // lose a packet of the very first, which the client's assembler then skips).
      const keyed = v.frames.some((f) => splitAnnexB(f.data).map(h264NalType).includes(5));
      expect(keyed).toBe(true);
      expect(v.frames.some((f) => splitAnnexB(f.data).map(h264NalType).includes(7))).toBe(true);
    }
    // The first plays the ladder where it landed; the second was sent to the ingest process.
    expect(new URL(viewers[0]!.location).origin).toBe(new URL(apis[0]!.url).origin);
    expect(new URL(viewers[1]!.location).origin).toBe(new URL(ingest.url).origin);
    const view = (await (await fetch(`${ingest.url}/api/streams/${STREAM}`)).json()) as {
      viewers?: { whepViewers?: { viewerId: string; mode: string }[] };
    };
    const there = view.viewers?.whepViewers?.find((s) => viewers[1]!.location.endsWith(s.viewerId));
    expect(there?.mode).toBe('passthrough');
    // The API-only processes never held the publisher.
    for (const a of apis) expect(a.output.join('')).not.toMatch(/"msg":"publish session started"/);
    expect((await viewers[1]!.delete()).status).toBe(200);

    // The stream ends: the viewer on the API-only process ends with it (its ladder's ENDLIST).
    await publisher.close();
    await waitFor(
      'the API-only process to end its viewer',
      async () => ((await viewers[0]!.patch('', {})).status === 404 ? true : null),
      40_000,
      500,
    );
  }, 120_000);
});

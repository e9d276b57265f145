import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { AV1_OBU, splitObus } from '../../src/core/codecs/av1-obu.js';
import { parseAv1SequenceHeader } from '../../src/core/codecs/av1-sequence-header.js';
import { ChromiumPublishingRig } from '../helpers/chromium-publisher.js';
import {
  checkLiveLadder,
  checkWhepPassthrough,
  decodeFirstSegment,
  firstPartMs,
} from '../helpers/live-check.js';

/**
 * Chromium publishing AV1 (setCodecPreferences) over WHIP: its AV1 packetizer through
 * ingest and the relay (V_AV1, av1C) into the worker's ffmpeg, which decodes AV1 and
 * encodes the H.264 ladder; an AV1 WHEP viewer gets the publisher's stream.
 */
describe('AV1 from Chromium over WHIP', () => {
  let rig: ChromiumPublishingRig | undefined;

  beforeAll(async () => {
    rig = await ChromiumPublishingRig.start();
  }, 30_000);

  afterAll(async () => {
    await rig?.close();
  });

  it('goes live as a playable H.264 ladder, shows profile, level and size, and plays over WHEP', async () => {
    const r = rig!;
    const base = r.url;
    const { publisher, result } = await r.publish({
      whipUrl: `${base}/whip/chromeav1?preset=light`,
      codec: 'av1',
      width: 640,
      height: 360,
    });
    if (process.env.SAVE_OFFERS) writeFileSync(process.env.SAVE_OFFERS, result.offer);
    expect(result.status).toBe(201);
    expect(result.answer).toMatch(/a=rtpmap:\d+ AV1\/90000/);

    const ms = await firstPartMs(base, 'chromeav1', '360p', result.postedAtMs);
    console.log(`AV1 (Chromium) POST → first part: ${ms} ms`);

    const view = (await (await fetch(`${base}/api/streams/chromeav1`)).json()) as {
      ingest?: { video: Record<string, unknown> | null };
    };
    expect(view.ingest?.video).toMatchObject({
      codec: 'av1',
      width: 640,
      height: 360,
      profile: 'Main',
      tier: 'Main',
      level: expect.stringMatching(/^\d\.\d$/),
    });

    await checkLiveLadder(base, 'chromeav1', { video: ['360p', '240p'], audio: 'audio', reloads: 6 });
    expect(await decodeFirstSegment(base, 'chromeav1', '360p')).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });

    const frames = await checkWhepPassthrough(base, 'chromeav1', {
      codec: 'av1',
      name: /AV1/,
      minFrames: 20,
      owned: r.viewers,
    });
    const header = splitObus(frames[0]!.data).find((o) => o.type === AV1_OBU.sequenceHeader);
    expect(header && parseAv1SequenceHeader(header.payload)).toMatchObject({ width: 640, height: 360 });
    expect(await publisher.state()).toBe('connected');
  }, 90_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { AV1_OBU, splitObus } from '../../src/core/codecs/av1-obu.js';
import { parseAv1SequenceHeader } from '../../src/core/codecs/av1-sequence-header.js';
import { launchChromium } from '../helpers/browser.js';
import { ChromiumPublisher } from '../helpers/chromium-publisher.js';
import { checkLiveLadder, decodeFirstSegment, firstPartMs } from '../helpers/live-check.js';
import { startTestService } from '../helpers/service.js';
import { WhepTestClient } from '../helpers/whep-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/**
 * Chromium publishing AV1 (setCodecPreferences) over WHIP: its AV1 packetizer through
 * ingest and the relay (V_AV1, av1C) into the worker's ffmpeg, which decodes AV1 and
 * encodes the H.264 ladder; an AV1 WHEP viewer gets the publisher's stream.
 */
describe('AV1 from Chromium over WHIP', () => {
  let t: Started;
  let browser: Browser;
  let pub: ChromiumPublisher | null = null;
  const viewers: WhepTestClient[] = [];

  beforeAll(async () => {
    t = await startTestService();
    browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(viewers.map((v) => v.close()));
    await pub?.stop();
    await browser?.close();
    await t?.close();
  });

  it('goes live as a playable H.264 ladder, shows profile, level and size, and plays over WHEP', async () => {
    const base = t.service.url;
    const { publisher, result } = await ChromiumPublisher.publish(browser, {
      pageUrl: `${base}/healthz`,
      whipUrl: `${base}/whip/chromeav1?preset=light`,
      codec: 'av1',
      width: 640,
      height: 360,
    });
    pub = publisher;
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

    const h264Only = await WhepTestClient.create({ url: `${base}/whep/chromeav1` });
    viewers.push(h264Only);
    const refused = await h264Only.post(await h264Only.offer());
    expect(refused.status).toBe(406);
    expect(await refused.text()).toMatch(/AV1/);

    const viewer = await WhepTestClient.create({ url: `${base}/whep/chromeav1`, videoCodec: 'av1' });
    viewers.push(viewer);
    await viewer.play();
    const start = Date.now();
    while (viewer.frames.length < 20 && Date.now() - start < 15_000)
      await new Promise((r) => setTimeout(r, 100));
    if (viewer.frames.length < 20) {
      const v = (await (await fetch(`${base}/api/streams/chromeav1`)).json()) as { viewers?: unknown };
      console.log('viewer stats', JSON.stringify(v.viewers), 'packets', viewer.video.length);
    }
    expect(viewer.frames.length).toBeGreaterThanOrEqual(20);
    const header = splitObus(viewer.frames[0]!.data).find((o) => o.type === AV1_OBU.sequenceHeader);
    expect(header && parseAv1SequenceHeader(header.payload)).toMatchObject({ width: 640, height: 360 });
    expect(await publisher.state()).toBe('connected');
  }, 90_000);
});

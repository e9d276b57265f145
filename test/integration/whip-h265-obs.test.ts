import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { H265_NAL, h265NalType } from '../../src/core/codecs/h265-access-unit.js';
import { parseH265Sps } from '../../src/core/codecs/h265-sps.js';
import { DataChannelPublisher, stopDataChannels } from '../helpers/datachannel-publisher.js';
import {
  checkLiveLadder,
  checkWhepPassthrough,
  decodeFirstSegment,
  firstPartMs,
} from '../helpers/live-check.js';
import { startTestService } from '../helpers/service.js';
import { WhepTestClient } from '../helpers/whep-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/**
 * OBS's H.265 over WHIP: libdatachannel (node-datachannel) with its H265RtpPacketizer,
 * the offer as OBS makes it, through ingest and the relay into the worker's ffmpeg,
 * which decodes H.265 and encodes the H.264 ladder; a WHEP viewer that offers H.265
 * gets the publisher's stream, one that offers only H.264 gets 406.
 */
describe('H.265 from libdatachannel (OBS) over WHIP', () => {
  let t: Started;
  let pub: DataChannelPublisher | null = null;
  const viewers: WhepTestClient[] = [];

  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(viewers.map((v) => v.close()));
    await pub?.close();
    stopDataChannels();
    await t?.close();
  });

  it('goes live as a playable H.264 ladder, shows profile, level and size, and plays over WHEP', async () => {
    const base = t.service.url;
    pub = await DataChannelPublisher.publish({
      url: `${base}/whip/obs265?preset=light`,
      codec: 'h265',
      seconds: 12,
    });
    if (process.env.SAVE_OFFERS) writeFileSync(process.env.SAVE_OFFERS, pub.offer);
    expect(pub.offer).toMatch(/a=rtpmap:96 H265\/90000/);
    expect(pub.answer).toMatch(/a=rtpmap:96 H265\/90000/);

    const ms = await firstPartMs(base, 'obs265', '360p', pub.postedAtMs);
    console.log(`H.265 (libdatachannel) POST → first part: ${ms} ms`);

    const view = (await (await fetch(`${base}/api/streams/obs265`)).json()) as {
      ingest?: { video: Record<string, unknown> | null };
    };
    expect(view.ingest?.video).toMatchObject({
      codec: 'h265',
      width: 640,
      height: 360,
      profile: 'Main',
      tier: 'Main',
      level: expect.stringMatching(/^\d(\.\d)?$/),
    });

    await checkLiveLadder(base, 'obs265', { video: ['360p', '240p'], audio: 'audio', reloads: 6 });
    expect(await decodeFirstSegment(base, 'obs265', '360p')).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });

    // WHEP: an H.265 viewer gets the publisher's own stream; an H.264-only one is told why not.
    const frames = await checkWhepPassthrough(base, 'obs265', {
      codec: 'h265',
      name: /H\.265/,
      minFrames: 30,
      owned: viewers,
    });
    const first = splitAnnexB(frames[0]!.data);
    const sps = first.find((u) => h265NalType(u) === H265_NAL.sps);
    expect(sps && parseH265Sps(sps)).toMatchObject({ width: 640, height: 360 });
  }, 90_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseMediaPlaylist, type MediaPlaylist } from '../../src/packager/playlist/media.js';
import { DataChannelPublisher, OBS_TWO_LAYERS, stopDataChannels } from '../helpers/datachannel-publisher.js';
import { checkLiveLadder, decodeFirstSegment, firstPartMs } from '../helpers/live-check.js';
import { childPids } from '../helpers/recording-packager.js';
import { startTestService } from '../helpers/service.js';
import { waitFor } from '../helpers/service-process.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

interface StreamView {
  ingest?: {
    video: { codec: string; layers?: { rid: string; width: number | null; height: number | null }[] };
  };
  passthrough?: { active: boolean; reason?: string };
  ladder?: { name: string; width: number; height: number }[];
}

/**
 * The built-in `passthrough` preset through the whole service: a werift WHIP publisher
 * without simulcast (H.264 High, 1 s GOP, Opus) gets one rendition, its own stream copied,
 * served as strict LL-HLS; the stream view says the layers are passed through. And OBS's
 * simulcast: libdatachannel (node-datachannel) offering one video m-line with two rids
 * (a=rid, a=simulcast:send, the rtp-stream-id extension, an SSRC per layer), both layers
 * H.264 encoded from the same frames with the same key frame interval: each layer is
 * copied into its own rendition, no video encode, the renditions' segments on the same
 * times, each decoding at its size.
 */
describe('WHIP on the passthrough preset', () => {
  let t: Started;
  let client: WhipTestClient | null = null;
  let pub: DataChannelPublisher | null = null;
  let lossy: DataChannelPublisher | null = null;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await client?.close();
    await pub?.close();
    await lossy?.close();
    stopDataChannels();
    await t?.close();
    turn?.release();
  });

  it('packages the publisher’s own H.264 as the one rendition, no encode', async () => {
    const base = t.service.url;
    client = await WhipTestClient.publish({
      url: `${base}/whip/own?preset=passthrough`,
      seconds: 10,
      gop: 30,
    });
    const ms = await firstPartMs(base, 'own', '360p', client.postedAtMs);
    console.log(`passthrough (werift, no simulcast) POST → first part: ${Math.round(ms)} ms`);
    await checkLiveLadder(base, 'own', { video: ['360p'], audio: 'audio', reloads: 4 });
    expect(await decodeFirstSegment(base, 'own', '360p')).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });
    const view = (await (await fetch(`${base}/api/streams/own`)).json()) as StreamView;
    expect(view.passthrough).toMatchObject({ active: true });
    expect(view.ladder?.map((r) => [r.name, r.width])).toEqual([['360p', 640]]);
  }, 60_000);

  it('packages each aligned layer of OBS-shaped simulcast as its own rendition, copied, segments on the same times', async () => {
    const base = t.service.url;
    const earlier = new Set(childPids('pipe:0'));
    pub = await DataChannelPublisher.publish({
      url: `${base}/whip/obssim?preset=passthrough`,
      codec: 'h264',
      simulcast: OBS_TWO_LAYERS,
      seconds: 10,
    });
    if (process.env.SAVE_OFFERS) writeFileSync(process.env.SAVE_OFFERS, pub.offer);
    expect(pub.offer).toMatch(/a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n/);
    expect(pub.answer).toMatch(/a=simulcast:recv h;l/);

    const ms = await firstPartMs(base, 'obssim', '360p', pub.postedAtMs).catch(async (e: unknown) => {
      console.log('stream view', JSON.stringify(await (await fetch(`${base}/api/streams/obssim`)).json()));
      console.log('forwarded', JSON.stringify(pub?.forwarded), pub?.ffmpegStderr);
      throw e;
    });
    console.log(`simulcast H.264 (libdatachannel, OBS) on passthrough POST → first part: ${ms} ms`);

    // This stream's worker ffmpeg (it reads the relay on stdin): each layer copied, no encoder.
    const pid = await waitFor(
      'the worker’s ffmpeg',
      async () => childPids('pipe:0').find((p) => !earlier.has(p)) ?? null,
      10_000,
      100,
    );
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(args.filter((a, i) => a === 'copy' && args[i - 1] === '-c:v')).toHaveLength(2);
    expect(args).not.toContain('libx264');

    const view = (await (await fetch(`${base}/api/streams/obssim`)).json()) as StreamView;
    expect(view.passthrough).toMatchObject({ active: true });
    expect(view.ingest?.video.codec).toBe('h264');
    expect(view.ingest?.video.layers?.map((l) => [l.rid, l.width, l.height])).toEqual([
      ['h', 640, 360],
      ['l', 320, 180],
    ]);
    expect(view.ladder?.map((r) => [r.name, r.width, r.height])).toEqual([
      ['360p', 640, 360],
      ['180p', 320, 180],
    ]);

    await checkLiveLadder(base, 'obssim', { video: ['360p', '180p'], audio: 'audio', reloads: 4 });
    const index = await (await fetch(`${base}/hls/obssim/index.m3u8`)).text();
    expect(index).toMatch(/RESOLUTION=640x360[^\n]*\n360p\.m3u8/);
    expect(index).toMatch(/RESOLUTION=320x180[^\n]*\n180p\.m3u8/);
    expect(index.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);

    await expectSameSegmentTimes(base, 'obssim');

    expect(await decodeFirstSegment(base, 'obssim', '360p')).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });
    const low = await decodeFirstSegment(base, 'obssim', '180p');
    expect(low).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(low.frames).toBeGreaterThan(0);
    console.log('forwarded by the publisher', JSON.stringify(pub.forwarded));
  }, 90_000);

  it('restarts the renditions behind a discontinuity when one layer loses a stretch (never repaired): no part over PART-TARGET', async () => {
    const base = t.service.url;
    lossy = await DataChannelPublisher.publish({
      url: `${base}/whip/lossy?preset=passthrough`,
      codec: 'h264',
      simulcast: OBS_TWO_LAYERS,
      seconds: 20,
    });
    await firstPartMs(base, 'lossy', '360p', lossy.postedAtMs);
    // Once the layers are being copied; ingest then waits for the layer's next key frame.
    await new Promise((r) => setTimeout(r, 500));
    lossy.loseNext('h', 20);
    const playlist = async (r: string) =>
      parseMediaPlaylist(await (await fetch(`${base}/hls/lossy/${r}.m3u8`)).text());
    const discontinuityMsn = (p: MediaPlaylist) => {
      const i = p.segments.findIndex((x) => x.discontinuity);
      return i < 0 ? null : p.mediaSequence + i;
    };
    const [hi, lo] = await waitFor(
      'a discontinuity in both renditions, with a segment after it',
      async () => {
        const ps = await Promise.all([playlist('360p'), playlist('180p')]);
        return ps.every((p) => {
          const msn = discontinuityMsn(p);
          return msn !== null && msn < p.mediaSequence + p.segments.length - 1;
        })
          ? ps
          : null;
      },
      25_000,
      200,
    );
    expect(lossy.lost).toBe(20);
    console.log(
      'lost 20 packets of layer h: discontinuity at msn',
      discontinuityMsn(hi),
      'PART-TARGET',
      hi.partTarget,
      'segments',
      JSON.stringify(hi.segments.map((x) => x.duration)),
    );
    expect(discontinuityMsn(lo)).toBe(discontinuityMsn(hi));
    expect(hi.partTarget).toBeLessThan(0.34);
    for (const p of [hi, lo]) {
      const parts = [...p.segments.flatMap((x) => x.parts ?? []), ...(p.trailingParts ?? [])];
      for (const x of parts) expect(x.duration).toBeLessThanOrEqual(p.partTarget! + 1e-6);
    }
    await checkLiveLadder(base, 'lossy', { video: ['360p', '180p'], audio: 'audio', reloads: 3 });
  }, 90_000);
});

/** Segment n of 360p starts when and lasts what segment n of 180p does, over three segments or more. */
async function expectSameSegmentTimes(base: string, id: string): Promise<void> {
  const playlist = async (r: string): Promise<MediaPlaylist> =>
    parseMediaPlaylist(await (await fetch(`${base}/hls/${id}/${r}.m3u8`)).text());
  const [hi, lo] = await waitFor(
    'three segments in both renditions',
    async () => {
      const p = await Promise.all([playlist('360p'), playlist('180p')]);
      return p.every((x) => x.segments.length >= 3) ? p : null;
    },
    20_000,
    200,
  );
  const bySeq = (p: MediaPlaylist) => new Map(p.segments.map((s, i) => [p.mediaSequence + i, s]));
  const his = bySeq(hi);
  const common = [...bySeq(lo)].filter(([msn]) => his.has(msn));
  expect(common.length).toBeGreaterThanOrEqual(3);
  const durations = common.map(([msn, s]) => [msn, his.get(msn)!.duration, s.duration]);
  console.log(`${id}: segment durations (msn, 360p, 180p)`, JSON.stringify(durations));
  for (const [, a, b] of durations) expect(Math.abs(a! - b!)).toBeLessThanOrEqual(0.005);
  const pdt = (p: MediaPlaylist) => p.segments[0]?.programDateTime?.toISOString();
  expect(hi.mediaSequence).toBe(lo.mediaSequence);
  expect(pdt(hi)).toBeDefined();
  expect(pdt(hi)).toBe(pdt(lo));
}

import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { h264NalType, splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhepTestClient } from '../helpers/whep-client.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';

interface ViewerView {
  viewerId: string;
  mode: string;
  sending: string;
  rung?: string;
  estimateBps?: number;
  trial?: boolean;
}

/** The size ffmpeg decodes the frames at, and how many it decoded. */
function decode(frames: Buffer[]): { width: number; height: number; frames: number } {
  const r = spawnSync(ffmpeg, ['-v', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'framemd5', '-'], {
    input: Buffer.concat(frames),
    maxBuffer: 64 * 1024 * 1024,
  });
  const probe = spawnSync(
    ffmpeg.replace(/ffmpeg$/, 'ffprobe'),
    [
      '-v',
      'error',
      '-f',
      'h264',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height',
      '-of',
      'csv=p=0',
      'pipe:0',
    ],
    { input: Buffer.concat(frames) },
  );
  const [width, height] = probe.stdout.toString().trim().split(',').map(Number);
  const decoded = r.stdout
    .toString()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#')).length;
  return { width: width ?? 0, height: height ?? 0, frames: decoded };
}

/**
 * WHEP from the ladder (rung mode), fast join and adaptation, in one process with every
 * role: a werift WHIP publisher whose key frames are 8 s apart (OBS's "auto" interval;
 * it makes none on request), the light preset's ladder (360p 700 kb/s and 240p 400 kb/s, 2 s
 * GOP): light, so that the suites running beside it keep their share of the machine.
 */
describe('WHEP from the ladder', () => {
  let t: Started;
  let base = '';
  const owned: { close(): Promise<void> }[] = [];
  const viewer = async (o: { mode?: 'passthrough' | 'rung'; rendition?: string } = {}) => {
    const v = await WhepTestClient.create({ url: `${base}/whep/rungs`, ...o });
    // DELETE first: a peer that just goes quiet stays listed until its ICE times out.
    owned.push({
      close: async () => void (await (v.location ? v.delete().catch(() => null) : null), await v.close()),
    });
    return v;
  };
  const sessions = async (): Promise<ViewerView[]> => {
    const view = (await (await fetch(`${base}/api/streams/rungs`)).json()) as {
      viewers?: { whepViewers?: ViewerView[] };
    };
    return view.viewers?.whepViewers ?? [];
  };

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
    base = t.service.url;
    const publisher = await WhipTestClient.publish({
      url: `${base}/whip/rungs?preset=light`,
      width: 640,
      height: 360,
      x264Preset: 'ultrafast',
      gop: 240,
      seconds: 60,
    });
    owned.push(publisher);
    await waitFor(
      'index.m3u8',
      async () => ((await fetch(`${base}/hls/rungs/index.m3u8`)).status === 200 ? true : null),
      30_000,
      100,
    );
  }, HEAVY_SUITE_SETUP_MS);

  afterEach(async () => {
    await Promise.all(owned.splice(1).map((c) => c.close()));
  });

  afterAll(async () => {
    await Promise.all(owned.splice(0).map((c) => c.close()));
    await t?.close();
    turn?.release();
  });

  it('rung mode: a decodable rung of the ladder and Opus, within a ladder GOP and a part', async () => {
    const v = await viewer({ mode: 'rung' });
    await v.play();
    await waitFor(
      'frames and audio',
      async () => (v.frames.length >= 30 && v.audio.length > 20 ? true : null),
      10_000,
      50,
    );
    const joinMs = v.frames[0]!.atMs - v.postedAtMs;
    console.log(`rung mode: first frame ${joinMs} ms after the POST`);
    // The key frame with its parameter sets (STAP-A before it); the first complete one, since
    // a loaded runner may lose a packet of the very first, which the client's assembler skips.
    const key = v.frames.find((f) => splitAnnexB(f.data).map(h264NalType).includes(5))!;
    expect(splitAnnexB(key.data).map(h264NalType)).toEqual(expect.arrayContaining([7, 8, 5]));
    expect(joinMs).toBeLessThan(2000 + 333 + 1500); // GOP + part, with slack for a loaded runner
    const d = decode(v.frames.slice(0, 30).map((f) => f.data));
    // A frame lost on a loaded runner (and those after it until a NACK repairs it) may not decode.
    expect(d.frames).toBeGreaterThanOrEqual(25);
    expect(d).toMatchObject({ width: 640, height: 360 });
    expect(/a=rtpmap:\d+ opus\/48000\/2/i.test(v.answer)).toBe(true);
    const mine = (await sessions()).find((s) => v.location.includes(s.viewerId))!;
    expect(mine).toMatchObject({ mode: 'rung', sending: 'rung', rung: '360p' });
    // Each video packet says when it was sent (abs-send-time, as Chromium offers it): the time
    // a receive-side estimate measures delay against. It moves on as the packets do.
    const stamped = v.video.filter((p) => p.absSendTime !== undefined);
    expect(stamped.length).toBe(v.video.length);
    const spanS = ((stamped.at(-1)!.absSendTime! - stamped[0]!.absSendTime! + 2 ** 24) % 2 ** 24) / 2 ** 18;
    const wallS = (v.frames.at(-1)!.atMs - v.frames[0]!.atMs) / 1000;
    expect(Math.abs(spanS - wallS)).toBeLessThan(1);
  }, 30_000);

  it('fast join: starts on a rung between the publisher’s key frames, then its own RTP at the next', async () => {
    const v = await viewer();
    await v.play();
    await waitFor('a frame', async () => (v.frames.length > 0 ? true : null), 10_000, 50);
    const joinMs = v.frames[0]!.atMs - v.postedAtMs;
    console.log(`fast join: first frame ${joinMs} ms after the POST (publisher GOP 8 s)`);
    // Before the publisher's next key frame (8 s): bench:whep-latency --joins holds the 1.5 s
    // target on a quiet machine; a loaded runner may be restarting the transcode meanwhile.
    expect(joinMs).toBeLessThan(8000);
    const early = (await sessions()).find((s) => v.location.includes(s.viewerId))!;
    expect(early.mode).toBe('passthrough');
    // Within 8 s the publisher's next key frame comes: from then on its own RTP.
    const switched = await waitFor(
      'passthrough',
      async () =>
        (await sessions()).find((s) => v.location.includes(s.viewerId))?.sending === 'passthrough'
          ? true
          : null,
      10_000,
      200,
    );
    expect(switched).toBe(true);
    await delay(500);
    // One RTP stream for the decoder: one SSRC, sequence numbers without a jump.
    expect(new Set(v.video.map((p) => p.ssrc)).size).toBe(1);
    const seqs = v.video.map((p) => p.seq);
    let jumps = 0;
    for (let i = 1; i < seqs.length; i++) if (((seqs[i]! - seqs[i - 1]!) & 0xffff) > 50) jumps++;
    expect(jumps).toBe(0);
    const d = decode(v.frames.map((f) => f.data));
    // Rung frames, then the publisher's from its key frame on: one decodable stream (a frame
    // lost on a loaded runner takes the frames after it until the next key frame).
    expect(d.frames).toBeGreaterThan(v.frames.length * 0.6);
  }, 30_000);

  it('adapts to a viewer limited to 500 kb/s (REMB), and ?rendition= pins a rung', async () => {
    const v = await viewer({ mode: 'rung' });
    await v.play();
    await waitFor('a frame', async () => (v.frames.length > 0 ? true : null), 10_000, 50);
    const started = Date.now();
    const remb = setInterval(() => void v.sendRemb(500_000), 250);
    try {
      const settled = await waitFor(
        'a rung under 500 kb/s',
        async () => {
          const s = (await sessions()).find((x) => v.location.includes(x.viewerId));
          return s?.rung === '240p' && s.estimateBps !== undefined ? s : null;
        },
        15_000,
        100,
      );
      console.log(
        `500 kb/s viewer on ${settled.rung} after ${Date.now() - started} ms (estimate ${settled.estimateBps})`,
      );
      expect(settled.estimateBps).toBe(500_000);
      // What it receives from then on is the 240p rung, at a rate that fits the estimate.
      await delay(1000);
      const from = Date.now();
      await delay(3000);
      const got = v.frames.filter((f) => f.atMs >= from);
      // Over the frames' own media time, not the wall clock: a loaded runner that stalls the
      // transcode then delivers its backlog in a burst (839 kb/s of wall-clock rate seen in CI
      // for a rung whose media rate stayed under its cap).
      const mediaSeconds = ((got.at(-1)!.rtpTimestamp - got[0]!.rtpTimestamp) >>> 0) / 90_000;
      const kbps = (got.reduce((n, f) => n + f.data.length, 0) * 8) / 1000 / mediaSeconds;
      console.log(`received ${kbps.toFixed(0)} kb/s of video over ${mediaSeconds.toFixed(2)} s of 240p`);
      expect(mediaSeconds).toBeGreaterThan(1);
      // The lowest rung's own rate (400 kb/s, 440 peak; a key frame in a short window adds to it,
      // and x264 made lighter on a loaded runner overshoots it: 567 kb/s seen). bench:whep-adapt
      // measures what a limited viewer receives on a quiet machine.
      expect(kbps).toBeLessThan(750);
      expect(decode(got.map((f) => f.data))).toMatchObject({ width: 426, height: 240 });
      // Across the switch the picture goes on. bench/whep-adapt.ts holds the 500 ms target
      // on a quiet machine; a loaded runner may also restart the transcode (a new run).
      let worst = 0;
      for (let i = 1; i < v.frames.length; i++)
        worst = Math.max(worst, v.frames[i]!.atMs - v.frames[i - 1]!.atMs);
      console.log(`longest wait between frames: ${worst} ms`);
      expect(worst).toBeLessThan(5000);
    } finally {
      clearInterval(remb);
    }
    const pinned = await viewer({ mode: 'rung', rendition: '240p' });
    await pinned.play();
    await waitFor('a frame', async () => (pinned.frames.length > 0 ? true : null), 10_000, 50);
    const p = (await sessions()).find((x) => pinned.location.includes(x.viewerId))!;
    expect(p).toMatchObject({ rung: '240p' });
    expect(decode(pinned.frames.slice(0, 10).map((f) => f.data))).toMatchObject({ width: 426, height: 240 });
  }, 40_000);

  it('climbs back once the link clears, by a trial of the next rung up', async () => {
    const v = await viewer({ mode: 'rung' });
    await v.play();
    await waitFor('a frame', async () => (v.frames.length > 0 ? true : null), 10_000, 50);
    const mine = async (): Promise<ViewerView | undefined> =>
      (await sessions()).find((x) => v.location.includes(x.viewerId));
    // First a 500 kb/s link: down to 240p.
    let limitBps = 500_000;
    // Then a receive-side estimate as libwebrtc's behaves: it follows what arrives, to at most
    // 1.5 times that (here the most video of any second of the last three, and 64 kb/s of
    // Opus), so it never shows room for 360p (twice 240p's rate) by itself. The most of three
    // seconds, since a loaded runner delivers frames in bursts, and libwebrtc's estimate does
    // not drop with what arrives unless delay grows.
    const remb = setInterval(() => {
      const now = Date.now();
      const second = (k: number): number =>
        v.frames
          .filter((f) => f.atMs > now - (k + 1) * 1000 && f.atMs <= now - k * 1000)
          .reduce((n, f) => n + f.data.length * 8, 0);
      const bits = Math.max(second(0), second(1), second(2));
      void v.sendRemb(Math.min(limitBps, 1.5 * (bits + 64_000)));
    }, 250);
    try {
      await waitFor('240p', async () => ((await mine())?.rung === '240p' ? true : null), 15_000, 100);
      limitBps = Infinity;
      const cleared = Date.now();
      const onTrial = await waitFor(
        'a trial',
        async () => ((await mine())?.trial ? true : null),
        30_000,
        200,
      );
      expect(onTrial).toBe(true);
      const back = await waitFor(
        '360p, no longer on trial',
        async () => {
          const s = await mine();
          return s?.rung === '360p' && s.trial === undefined ? s : null;
        },
        20_000,
        200,
      );
      console.log(
        `back on ${back.rung} ${Date.now() - cleared} ms after the link cleared (estimate ${back.estimateBps})`,
      );
      // It stays there, and what arrives is 360p.
      await delay(2000);
      expect(await mine()).toMatchObject({ rung: '360p' });
      const recent = v.frames.slice(-90).map((f) => f.data);
      expect(decode(recent)).toMatchObject({ width: 640, height: 360 });
    } finally {
      clearInterval(remb);
    }
  }, 90_000);

  it('refuses a bad mode or rendition with 400 and changes nothing', async () => {
    for (const q of ['mode=fast', 'rendition=..%2Fx']) {
      const v = await viewer();
      const res = await fetch(`${base}/whep/rungs?${q}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: await v.offer(),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/mode|rendition/);
    }
    expect(await sessions()).toHaveLength(0);
  });
});

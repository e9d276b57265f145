import { describe, expect, it } from '@jest/globals';
import { MediaEpoch, TrackClock } from '../../src/ingest/rtp/media-clock.js';
import { msToNtp, ntpToMs, senderTimeMs } from '../../src/ingest/rtp/sender-report.js';

/**
 * A sender that captures video (90 kHz, a frame every 40 ms) and audio (48 kHz, a packet
 * every 20 ms) from one clock, whose packets reach the server `videoDelayMs` and
 * `audioDelayMs` after capture. Times are of capture, in ms from its start.
 */
const NTP0_MS = 3_900_000_000_000; // the sender's NTP clock at capture 0 (ms since 1900)
const LOCAL0_MS = 1_700_000_000_000; // the server's wall clock at capture 0
const V = { ssrc: 0x1111, ts0: 4_000_000_000, rate: 90_000, everyMs: 40 };
const A = { ssrc: 0x2222, ts0: 123_456, rate: 48_000, everyMs: 20 };
type Track = typeof V;

const rtpAt = (t: Track, captureMs: number) => (t.ts0 + (captureMs * t.rate) / 1000) >>> 0;
const report = (t: Track, captureMs: number) => ({
  ssrc: t.ssrc,
  ntpMs: NTP0_MS + captureMs,
  rtpTimestamp: rtpAt(t, captureMs),
});

interface Stamp {
  kind: 'video' | 'audio';
  captureMs: number;
  us: number;
}

/** Runs captures [fromMs, toMs) through both clocks in arrival order; reports come at `reportsAtMs` (capture time). */
function run(o: {
  epoch: MediaEpoch;
  video: TrackClock;
  audio: TrackClock;
  fromMs: number;
  toMs: number;
  videoDelayMs: number;
  audioDelayMs: number;
  reports?: { atMs: number; track: Track }[];
}): Stamp[] {
  const events: { arrivalMs: number; kind: 'video' | 'audio'; captureMs: number }[] = [];
  for (let c = o.fromMs; c < o.toMs; c += V.everyMs)
    events.push({ arrivalMs: LOCAL0_MS + c + o.videoDelayMs, kind: 'video', captureMs: c });
  for (let c = o.fromMs; c < o.toMs; c += A.everyMs)
    events.push({ arrivalMs: LOCAL0_MS + c + o.audioDelayMs, kind: 'audio', captureMs: c });
  events.sort((a, b) => a.arrivalMs - b.arrivalMs);
  const pending = [...(o.reports ?? [])];
  const out: Stamp[] = [];
  for (const e of events) {
    while (pending.length > 0 && LOCAL0_MS + pending[0]!.atMs <= e.arrivalMs) {
      const r = pending.shift()!;
      o.epoch.senderReport(report(r.track, r.atMs));
    }
    const t = e.kind === 'video' ? V : A;
    const clock = e.kind === 'video' ? o.video : o.audio;
    out.push({
      kind: e.kind,
      captureMs: e.captureMs,
      us: clock.timeUs(rtpAt(t, e.captureMs), e.arrivalMs, t.ssrc),
    });
  }
  return out;
}

/** Audio time minus video time of the same capture instant, in ms, for captures in [fromMs, toMs). */
function offsetsMs(stamps: Stamp[], fromMs: number, toMs: number): number[] {
  const video = new Map(stamps.filter((s) => s.kind === 'video').map((s) => [s.captureMs, s.us]));
  return stamps
    .filter(
      (s) => s.kind === 'audio' && s.captureMs >= fromMs && s.captureMs < toMs && video.has(s.captureMs),
    )
    .map((s) => (s.us - video.get(s.captureMs)!) / 1000);
}

function increasing(stamps: Stamp[], kind: 'video' | 'audio'): boolean {
  const us = stamps.filter((s) => s.kind === kind).map((s) => s.us);
  return us.every((u, i) => i === 0 || u > us[i - 1]!);
}

function session() {
  const epoch = new MediaEpoch();
  return { epoch, video: new TrackClock(V.rate, epoch), audio: new TrackClock(A.rate, epoch) };
}

describe('NTP timestamps of sender reports', () => {
  it('reads the 64-bit fixed point as RFC 3550 writes it, and writes it back', () => {
    // 1970-01-01 plus half a second: 2208988800 s since 1900, fraction 2^31.
    expect(ntpToMs((2_208_988_800n << 32n) | 0x80000000n)).toBe(2_208_988_800_500);
    const ms = 3_913_000_123_456.789;
    expect(ntpToMs(msToNtp(ms))).toBeCloseTo(ms, 3);
  });

  it('maps an RTP timestamp through a report, across the 32-bit wrap both ways', () => {
    const sr = { ssrc: 1, ntpMs: 1000, rtpTimestamp: 0xffffff00 };
    expect(senderTimeMs(sr, 0xffffff00 + 90_000 - 2 ** 32, 90_000)).toBeCloseTo(2000, 6);
    expect(senderTimeMs(sr, 0xffffff00 - 45_000, 90_000)).toBeCloseTo(500, 6);
  });
});

describe('A/V sync through sender reports', () => {
  it('stamps audio that arrives 150 ms later than its video 150 ms late until the reports, then in sync', () => {
    const s = session();
    const stamps = run({
      ...s,
      fromMs: 0,
      toMs: 4000,
      videoDelayMs: 20,
      audioDelayMs: 170,
      reports: [
        { atMs: 1000, track: V },
        { atMs: 1500, track: A },
        { atMs: 2000, track: V },
        { atMs: 2500, track: A },
      ],
    });
    // Arrival time only, before any report: off by the difference in delays.
    for (const d of offsetsMs(stamps, 0, 900)) expect(d).toBeCloseTo(150, 0);
    // Both tracks on the sender's clock: the same instant has the same time (to the µs).
    const synced = offsetsMs(stamps, 1700, 4000);
    expect(synced.length).toBeGreaterThan(50);
    for (const d of synced) expect(Math.abs(d)).toBeLessThanOrEqual(0.001);
    expect(increasing(stamps, 'video')).toBe(true);
    expect(increasing(stamps, 'audio')).toBe(true);
    expect(s.video.onSenderTime && s.audio.onSenderTime).toBe(true);
  });

  it('moves forward only: the track that was early steps ahead once, nothing goes back', () => {
    const s = session();
    const stamps = run({
      ...s,
      fromMs: 0,
      toMs: 3000,
      videoDelayMs: 20,
      audioDelayMs: 170,
      reports: [
        { atMs: 1000, track: V },
        { atMs: 1500, track: A },
      ],
    });
    const video = stamps.filter((x) => x.kind === 'video');
    const steps = video.slice(1).map((x, i) => (x.us - video[i]!.us) / 1000);
    // 40 ms a frame, except one step of 40 + 150 ms when audio's first report lifts the session.
    expect(steps.filter((d) => Math.abs(d - 40) > 0.01)).toEqual([expect.closeTo(190, 2)]);
    const audio = stamps.filter((x) => x.kind === 'audio');
    const audioSteps = audio.slice(1).map((x, i) => (x.us - audio[i]!.us) / 1000);
    expect(audioSteps.every((d) => Math.abs(d - 20) < 0.01)).toBe(true);
  });

  it('steps the late track itself when its report maps it ahead of where it was', () => {
    const s = session();
    // Audio's report comes first and fixes the session's offset at audio's (longer) delay.
    const stamps = run({
      ...s,
      fromMs: 0,
      toMs: 3000,
      videoDelayMs: 20,
      audioDelayMs: 170,
      reports: [
        { atMs: 1000, track: A },
        { atMs: 1500, track: V },
      ],
    });
    for (const d of offsetsMs(stamps, 1700, 3000)) expect(Math.abs(d)).toBeLessThanOrEqual(0.001);
    const audio = stamps.filter((x) => x.kind === 'audio');
    const audioSteps = audio.slice(1).map((x, i) => (x.us - audio[i]!.us) / 1000);
    expect(audioSteps.every((d) => Math.abs(d - 20) < 0.01)).toBe(true);
    expect(increasing(stamps, 'video')).toBe(true);
  });

  it('gives each SSRC (simulcast layer) its own report: layers with other RTP bases meet on one time', () => {
    const epoch = new MediaEpoch();
    const low = new TrackClock(90_000, epoch);
    const high = new TrackClock(90_000, epoch);
    const L = { ...V, ssrc: 0xaaaa, ts0: 17 };
    const H = { ...V, ssrc: 0xbbbb, ts0: 3_000_000_000 };
    epoch.anchor(LOCAL0_MS);
    epoch.senderReport(report(L, 0));
    epoch.senderReport(report(H, 0));
    // The high layer's packets take 30 ms longer (they are bigger); both are stamped as captured.
    for (let c = 0; c < 2000; c += 40) {
      const l = low.timeUs(rtpAt(L, c), LOCAL0_MS + c + 10, L.ssrc);
      const h = high.timeUs(rtpAt(H, c), LOCAL0_MS + c + 40, H.ssrc);
      if (c > 0) expect(h).toBe(l);
    }
  });

  it('does not believe a report that would move a track by more than REANCHOR_AFTER_MS', () => {
    const s = session();
    s.epoch.anchor(LOCAL0_MS);
    s.video.timeUs(rtpAt(V, 0), LOCAL0_MS, V.ssrc);
    s.epoch.senderReport(report(V, 0));
    expect(s.video.timeUs(rtpAt(V, 40), LOCAL0_MS + 40, V.ssrc)).toBe(40_000);
    // Audio's report says its RTP time is an hour off: audio stays on arrival time.
    s.epoch.senderReport({ ...report(A, 0), ntpMs: NTP0_MS + 3_600_000 });
    expect(s.audio.timeUs(rtpAt(A, 40), LOCAL0_MS + 60, A.ssrc)).toBe(60_000);
    expect(s.audio.onSenderTime).toBe(false);
    expect(s.video.timeUs(rtpAt(V, 80), LOCAL0_MS + 80, V.ssrc)).toBe(80_000);
  });

  it('leaves a new SSRC on arrival time until it has a report, without going back', () => {
    const s = session();
    s.epoch.senderReport(report(V, 0));
    const first = s.video.timeUs(rtpAt(V, 0), LOCAL0_MS, V.ssrc);
    expect(s.video.timeUs(rtpAt(V, 40), LOCAL0_MS + 40, V.ssrc)).toBe(first + 40_000);
    // The publisher restarts its encoder: another SSRC, another RTP base.
    const ssrc2 = { ...V, ssrc: 0x3333, ts0: 99 };
    const t = s.video.timeUs(rtpAt(ssrc2, 80), LOCAL0_MS + 80, ssrc2.ssrc);
    expect(s.video.onSenderTime).toBe(false);
    expect(t).toBeGreaterThan(first + 40_000);
    expect(s.video.timeUs(rtpAt(ssrc2, 120), LOCAL0_MS + 120, ssrc2.ssrc)).toBe(t + 40_000);
  });

  it('keeps at most 16 SSRCs of reports', () => {
    const epoch = new MediaEpoch();
    for (let ssrc = 1; ssrc <= 20; ssrc++) epoch.senderReport({ ssrc, ntpMs: 0, rtpTimestamp: 0 });
    expect(epoch.reportFor(4)).toBeUndefined();
    expect(epoch.reportFor(5)).toBeDefined();
    expect(epoch.reportFor(20)).toBeDefined();
  });
});

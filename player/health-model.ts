import { keyframeIntervalS } from './golive-model.js';
import type { JobView, Preset, StreamView } from './types.js';

/**
 * A live stream's figures over the last few minutes, one sample per poll of
 * /api/streams (pure: no DOM). Counters (packets lost, NACKs) become per-second rates
 * between two samples of the same publish session; a takeover starts them over.
 */
export const SERIES = [
  'kbps',
  'fps',
  'lossPerS',
  'nacksPerS',
  'keyframeS',
  'gopS',
  'speed',
  'hls',
  'whep',
  'latencyS',
] as const;
export type SeriesKey = (typeof SERIES)[number];

/** Samples kept: five minutes at one a second. */
export const WINDOW_S = 300;

interface Counters {
  sessionId: string;
  lost: number;
  nacks: number;
  t: number;
}

export class StreamHistory {
  /** Sample times, seconds since the epoch (uPlot's time axis). */
  readonly t: number[] = [];
  readonly values: Record<SeriesKey, (number | null)[]> = Object.fromEntries(
    SERIES.map((k) => [k, [] as (number | null)[]]),
  ) as Record<SeriesKey, (number | null)[]>;
  #prev: Counters | null = null;

  add(
    s: StreamView,
    job: JobView | undefined,
    preset: Preset | undefined,
    latencyS: number | null,
    nowS: number,
  ): void {
    const v = s.ingest?.video ?? null;
    const a = s.ingest?.audio ?? null;
    const lost = (v?.packetsLost ?? 0) + (a?.packetsLost ?? 0);
    const nacks = v?.nacksSent ?? 0;
    const prev = this.#prev;
    const session = s.ingest?.sessionId ?? '';
    const same = prev !== null && prev.sessionId === session && nowS > prev.t;
    const rate = (now: number, before: number): number | null =>
      same ? Math.max(0, now - before) / (nowS - prev.t) : null;
    this.#prev = s.ingest ? { sessionId: session, lost, nacks, t: nowS } : null;

    const sample: Record<SeriesKey, number | null> = {
      kbps: s.ingest ? (v?.bitrateKbps ?? 0) + (a?.bitrateKbps ?? 0) : null,
      fps: v ? v.fps : null,
      lossPerS: s.ingest ? rate(lost, prev?.lost ?? 0) : null,
      nacksPerS: s.ingest ? rate(nacks, prev?.nacks ?? 0) : null,
      keyframeS: v?.keyframeIntervalMs != null ? v.keyframeIntervalMs / 1000 : null,
      gopS: preset ? preset.gopSeconds : null,
      speed: job?.state === 'active' ? (job.progress?.speed ?? null) : null,
      hls: s.viewers?.hls ?? null,
      whep: s.viewers?.whep ?? null,
      latencyS,
    };
    this.t.push(nowS);
    for (const k of SERIES) this.values[k].push(sample[k]);
    while (this.t.length > 0 && (this.t[0] ?? 0) < nowS - WINDOW_S) {
      this.t.shift();
      for (const k of SERIES) this.values[k].shift();
    }
  }

  /** The newest value of a series, null when unknown. */
  last(k: SeriesKey): number | null {
    const a = this.values[k];
    return a.length ? (a[a.length - 1] ?? null) : null;
  }
}

export type TranscodeState = 'running' | 'starting' | 'waiting' | 'degraded' | 'ended' | 'failed' | 'none';

export interface Verdict {
  state: TranscodeState;
  /** What the state means, or why it is degraded (one line each). */
  reasons: string[];
  /** The key frame interval is longer than asked for: what to change. */
  keyframeWarning: string | null;
}

/** Below this ffmpeg falls behind real time and latency grows. */
const SLOW_SPEED = 0.95;

/**
 * The transcode's state as a person reads it: running; waiting for a worker (queued,
 * no worker took it yet); degraded and why (ffmpeg slower than real time, a hardware
 * encoder fell back to x264, the publisher's connection is not up, no video); ended.
 */
export function verdict(s: StreamView, job: JobView | undefined, preset: Preset | undefined): Verdict {
  const reasons: string[] = [];
  let keyframeWarning: string | null = null;
  const v = s.ingest?.video ?? null;
  if (preset && v?.keyframeIntervalMs != null) {
    const asked = Math.max(preset.gopSeconds, keyframeIntervalS(preset));
    if (v.keyframeIntervalMs > asked * 1000 * 1.1) {
      keyframeWarning =
        `Key frames arrive every ${(v.keyframeIntervalMs / 1000).toFixed(1)} s, longer than the preset's ` +
        `GOP of ${preset.gopSeconds} s: set the encoder's keyframe interval to ${keyframeIntervalS(preset)} s.`;
    }
  }
  if (s.state === 'ended') return { state: 'ended', reasons: ['the publisher stopped'], keyframeWarning };
  const state = job?.state ?? s.job?.state;
  if (!state) return { state: 'none', reasons: ['no transcode job yet'], keyframeWarning };
  if (state === 'failed') {
    return { state: 'failed', reasons: [job?.failedReason ?? 'the transcode failed'], keyframeWarning };
  }
  if (state === 'completed' || state === 'cancelled')
    return { state: 'ended', reasons: [state], keyframeWarning };
  if (state === 'waiting' || state === 'delayed') {
    const why =
      job && job.queueName !== 'live'
        ? `waiting for a worker that takes ${job.queueName} (GET /api/workers)`
        : 'waiting for a worker';
    return { state: 'waiting', reasons: [why], keyframeWarning };
  }
  const speed = job?.progress?.speed ?? null;
  if (speed !== null && speed < SLOW_SPEED) {
    reasons.push(`ffmpeg runs at ${speed.toFixed(2)}x real time: the ladder falls behind`);
  }
  const conn = s.ingest?.connectionState;
  if (conn && conn !== 'connected') reasons.push(`the publisher's connection is ${conn}`);
  if (s.ingest && !v) reasons.push('no video arrives');
  if (job && job.attempts > 0) reasons.push(`restarted after a failure (attempt ${job.attempts + 1})`);
  if (reasons.length > 0) return { state: 'degraded', reasons, keyframeWarning };
  if (job?.progress === null || speed === null) {
    return { state: 'starting', reasons: ['the worker is starting ffmpeg'], keyframeWarning };
  }
  // A preferred encoder that fell back to x264 runs fine as long as it keeps up: said, not alarmed.
  const fallback = job?.encoder?.hwFallback
    ? `; hardware preferred: ${job.encoder.reason ?? 'unavailable'}`
    : '';
  return {
    state: 'running',
    reasons: [`on ${job?.worker ?? 'a worker'}${job?.encoder ? ` (${job.encoder.family}${fallback})` : ''}`],
    keyframeWarning,
  };
}

import type { Preset, Rung } from './types.js';

/**
 * What a publisher should set for a preset (pure). The ladder re-encodes whatever comes
 * in, so these are about what makes the ingest easy on it: key frames every 1 to 2 s
 * (a player or a takeover waits for one; longer than the preset's GOP and the ladder's
 * first segment waits too), no B-frames (WebRTC sends none; OBS's WHIP output would
 * have to drop them), constant bit rate (a steady ingest over UDP loses less), and the
 * top rung's size and frame rate (the ladder never upscales).
 */
export interface EncoderAdvice {
  resolution: string;
  fps: number;
  bitrateKbps: number;
  keyframeIntervalS: number;
  profile: string;
  tune: string | null;
}

export function topRung(p: Preset): Rung {
  return p.ladder.reduce((best, r) => (r.width * r.height > best.width * best.height ? r : best));
}

/** The key frame interval to ask of the publisher: the preset's GOP, within 1 to 2 s. */
export function keyframeIntervalS(p: Preset): number {
  return Math.min(2, Math.max(1, p.gopSeconds));
}

export function encoderAdvice(p: Preset): EncoderAdvice {
  const top = topRung(p);
  return {
    resolution: `${top.width}x${top.height}`,
    fps: top.fps,
    // Headroom over the top rung: the ladder re-encodes, and loses what the source lacks.
    bitrateKbps: Math.round((top.videoBitrateKbps * 1.5) / 100) * 100,
    keyframeIntervalS: keyframeIntervalS(p),
    profile: top.profile ?? 'high',
    tune: p.encoders.x264.tune === 'zerolatency' ? 'zerolatency' : null,
  };
}

/** `http://host:8080/whip/name?preset=p` (no preset parameter for the default preset). */
export function whipUrl(origin: string, stream: string, presetId: string): string {
  const q = presetId && presetId !== 'default' ? `?preset=${encodeURIComponent(presetId)}` : '';
  return `${origin}/whip/${encodeURIComponent(stream)}${q}`;
}

export const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * ffmpeg's `-progress` output: blocks of `key=value` lines, each block closed by
 * `progress=continue` or, once, by `progress=end`. Values may be `N/A` or padded
 * (`speed=   0x`, `bitrate= 736.8kbits/s`); `out_time_ms` is in microseconds despite its
 * name (an old ffmpeg bug kept for compatibility), so `out_time_us` is preferred.
 */
export interface FfmpegProgress {
  /** Media time written so far (the furthest output), never negative. */
  outTimeMs: number;
  /** Encoded frames per second, averaged by ffmpeg; null while unknown. */
  fps: number | null;
  /** Media time per wall-clock time (1 = real time); null while unknown. */
  speed: number | null;
  /** Frames encoded (first video output); null without video. */
  frame: number | null;
  /** True on the final block: ffmpeg finished or was stopped with `q`. */
  done: boolean;
}

/** Feed it stdout chunks; it returns one event per completed block. */
export class ProgressParser {
  #partial = '';
  #block = new Map<string, string>();
  #outTimeMs = 0;

  push(chunk: string): FfmpegProgress[] {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    const events: FfmpegProgress[] = [];
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).trim();
      if (key !== 'progress') {
        this.#block.set(key, value);
        continue;
      }
      events.push(this.#finish(value === 'end'));
    }
    return events;
  }

  #finish(done: boolean): FfmpegProgress {
    const b = this.#block;
    this.#block = new Map();
    const us = number(b.get('out_time_us')) ?? number(b.get('out_time_ms')) ?? clockUs(b.get('out_time'));
    // Before the first packet ffmpeg reports N/A or a negative time (encoder priming):
    // keep the last good value so progress never runs backwards.
    if (us !== null && us >= 0) this.#outTimeMs = Math.max(this.#outTimeMs, Math.floor(us / 1000));
    return {
      outTimeMs: this.#outTimeMs,
      // ffmpeg prints 0 for both before it has measured anything.
      fps: positive(number(b.get('fps'))),
      speed: positive(number(b.get('speed')?.replace(/x$/, ''))),
      frame: number(b.get('frame')),
      done,
    };
  }
}

function number(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  if (t === '' || t === 'N/A') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function positive(n: number | null): number | null {
  return n !== null && n > 0 ? n : null;
}

/** `HH:MM:SS.ffffff`, possibly negative, to microseconds. */
function clockUs(s: string | undefined): number | null {
  const m = /^(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(s?.trim() ?? '');
  if (!m) return null;
  const us = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1e6;
  return m[1] === '-' ? -us : us;
}

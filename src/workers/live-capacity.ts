import type { EncoderFamily, Preset } from '../core/preset.js';
import { PIXELS_PER_CORE } from '../core/presets/cost.js';

/**
 * How many live streams a worker takes: as many as its cores can encode in real time,
 * estimated from each stream's ladder (pixels per second) and the x264 preset's speed.
 * The figures are this project's measurements with Debian's ffmpeg 5.1 (bench/capacity:
 * 720p/480p/360p at 30 fps, superfast, about 0.29 of a core; the same at veryfast about
 * 0.45), scaled for the other presets by x264's documented relative speeds. An estimate:
 * a stream that still falls behind adapts (adaptation.ts).
 */

/** Live streams one worker runs at most, whatever the estimate says. */
const MAX_LIVE_STREAMS = 32;

/** A hardware encoder's stream costs the CPU little (demux, upload, mux). */
const HARDWARE_STREAM_CORES = 0.08;

/** Cores a live stream of this (planned) preset takes on `family`. */
export function streamCores(preset: Preset, family: EncoderFamily): number {
  if (family !== 'x264') return HARDWARE_STREAM_CORES;
  const pixels = preset.ladder.reduce((a, r) => a + r.width * r.height * r.fps, 0);
  return pixels / PIXELS_PER_CORE[preset.encoders.x264.preset];
}

export interface LiveCapacityOptions {
  /** Cores this worker may fill with live streams. */
  cores: number;
  /** A fixed number of streams instead (LIVE_CAPACITY set to a number). */
  fixed?: number;
  /** Take another stream only while this much is left, cores. @defaultValue 0.25 */
  headroom?: number;
}

/** The running streams' estimated cost, and whether the worker takes one more now. */
export class LiveCapacity {
  readonly #o: LiveCapacityOptions;
  readonly #cost = new Map<string, number>();

  constructor(o: LiveCapacityOptions) {
    this.#o = o;
  }

  /** A stream started, or its plan (and so its cost) changed. */
  set(jobId: string, cores: number): void {
    this.#cost.set(jobId, cores);
  }

  delete(jobId: string): void {
    this.#cost.delete(jobId);
  }

  /** Estimated cores in use. */
  get used(): number {
    let n = 0;
    for (const c of this.#cost.values()) n += c;
    return n;
  }

  /**
   * Whether another stream may start here now: while the fixed number is not reached, or
   * while the estimate leaves room (the first stream always may). A stream's own cost is
   * known only once it planned its ladder; one that then does not fit adapts.
   */
  admits(): boolean {
    const running = this.#cost.size;
    if (this.#o.fixed !== undefined) return running < this.#o.fixed;
    return running === 0 || this.#o.cores - this.used >= (this.#o.headroom ?? 0.25);
  }

  /** The most streams one BullMQ worker may hold at once; admits() decides below it. */
  get limit(): number {
    return this.#o.fixed ?? MAX_LIVE_STREAMS;
  }
}

/**
 * Whether simulcast layers have their key frames at the same instants, so that each
 * layer, copied as it is, can be an LL-HLS rendition whose segments and parts start where
 * the others' do (RFC 8216bis 6.2.4: a client switches variants at segment boundaries).
 * OBS encodes every layer from the same frames with one key frame interval, so its
 * layers are aligned; a browser answers each layer's PLI on its own, so its are not.
 *
 * The layers' times cannot be compared as they come: each layer's clock is anchored at
 * the arrival of its own first frame (ingest/rtp/media-clock.ts), so two layers of the
 * same captured frame are a constant few milliseconds apart, which is as much as one
 * frame at 60 fps. Each layer's offset is estimated as the least (arrival − media time)
 * of its frames: the frame that crossed the network fastest, nearly the same for every
 * layer on one connection. After that correction the same instant agrees within a few
 * milliseconds across layers, well inside `toleranceUs`, while a layer whose GOP is one
 * frame off is a whole frame interval away.
 */

export interface AlignmentOptions {
  /** Key frame instants seen in every layer before the layers count as aligned. @defaultValue 2 */
  minKeyframes?: number;
  /**
   * How far apart (after the correction) two layers' key frames may be and still be the
   * same instant, µs. @defaultValue 12000 for checkKeyframeAlignment; KeyframeAlignment
   * takes 60 % of the shortest frame interval it saw, within 8-20 ms (see tolerance()).
   */
  toleranceUs?: number;
  /** Key frames remembered per layer. @defaultValue 8 */
  keep?: number;
}

export type AlignmentVerdict =
  /** Not enough key frames in every layer yet. */
  | { state: 'unknown'; matched: number }
  | { state: 'aligned'; matched: number }
  | { state: 'misaligned'; reason: string };

/** One layer's recent key frame times and the time of its newest frame, on one corrected clock, µs. */
export interface LayerKeyTimes {
  /** For the reason text: the rid, or `the stream` for one encoding. */
  name: string;
  keyframesUs: readonly number[];
  lastUs: number | null;
}

/**
 * The verdict over the layers' key frames. Only key frames every layer could have shown
 * are judged: after each layer's first remembered key frame (before it, a layer may just
 * not have started) and before each layer's newest frame (a layer whose frames went past
 * an instant has shown whether it has a key frame there). Each of those key frames must
 * have a partner within `toleranceUs` in every other layer.
 */
export function checkKeyframeAlignment(
  layers: readonly LayerKeyTimes[],
  o: AlignmentOptions = {},
): AlignmentVerdict {
  const tol = o.toleranceUs ?? 12_000;
  const min = o.minKeyframes ?? 2;
  if (layers.some((l) => l.keyframesUs.length === 0 || l.lastUs === null)) {
    return { state: 'unknown', matched: 0 };
  }
  const from = Math.max(...layers.map((l) => l.keyframesUs[0]!)) - tol;
  const to = Math.min(...layers.map((l) => l.lastUs!)) - tol;
  let matched = 0;
  for (const [i, layer] of layers.entries()) {
    for (const t of layer.keyframesUs) {
      if (t < from || t > to) continue;
      for (const other of layers) {
        if (other === layer) continue;
        const near = nearest(other.keyframesUs, t);
        if (Math.abs(near - t) > tol) {
          return {
            state: 'misaligned',
            reason:
              `${layer.name} has a key frame at ${sec(t)} s where ${other.name} has none ` +
              `(nearest ${sec(near)} s, ${Math.round(Math.abs(near - t) / 1000)} ms away; ` +
              `at most ${Math.round(tol / 1000)} ms allowed)`,
          };
        }
      }
      if (i === 0) matched++;
    }
  }
  return layers.length === 1 || matched >= min
    ? { state: 'aligned', matched }
    : { state: 'unknown', matched };
}

function nearest(sorted: readonly number[], t: number): number {
  let best = sorted[0]!;
  for (const x of sorted) if (Math.abs(x - t) < Math.abs(best - t)) best = x;
  return best;
}

function sec(us: number): string {
  return (us / 1e6).toFixed(3);
}

interface LayerTrack {
  name: string;
  /** Raw media times of its recent key frames, µs. */
  keyframesUs: number[];
  lastUs: number | null;
  /** Least (arrival − media time) seen, µs: the layer's clock offset plus the fastest transit. */
  minDelayUs: number;
  /** Shortest step between two of its frames, µs: its frame interval. */
  minStepUs: number;
}

/** Bounds of the frame-relative tolerance: 60 fps and above, 30 fps and below. */
const MIN_TOLERANCE_US = 8_000;
const MAX_TOLERANCE_US = 20_000;

/**
 * The layers' frames as they come (media time and arrival), their key frame verdict on
 * demand. Pure: no clock of its own.
 */
export class KeyframeAlignment {
  readonly #layers: LayerTrack[];
  readonly #o: AlignmentOptions;

  /** `names`: one per layer, in the order push() refers to them. */
  constructor(names: readonly string[], o: AlignmentOptions = {}) {
    this.#o = o;
    this.#layers = names.map((name) => ({
      name,
      keyframesUs: [],
      lastUs: null,
      minDelayUs: Number.POSITIVE_INFINITY,
      minStepUs: Number.POSITIVE_INFINITY,
    }));
  }

  /** A frame of layer `index`: its media time and the wall clock it arrived at, µs. */
  push(index: number, timeUs: number, arrivalUs: number, keyframe: boolean): void {
    const l = this.#layers[index];
    if (!l) return;
    l.minDelayUs = Math.min(l.minDelayUs, arrivalUs - timeUs);
    if (l.lastUs !== null && timeUs > l.lastUs) l.minStepUs = Math.min(l.minStepUs, timeUs - l.lastUs);
    l.lastUs = timeUs;
    if (keyframe) {
      l.keyframesUs.push(timeUs);
      if (l.keyframesUs.length > (this.#o.keep ?? 8)) l.keyframesUs.shift();
    }
  }

  /**
   * `timeUs` of layer `index` on the clock every layer shares after the correction: the
   * first layer's own media clock (so reasons read as media times).
   */
  corrected(index: number, timeUs: number): number {
    const l = this.#layers[index];
    const first = this.#layers[0];
    if (!l || !first || !Number.isFinite(l.minDelayUs) || !Number.isFinite(first.minDelayUs)) return timeUs;
    return timeUs + l.minDelayUs - first.minDelayUs;
  }

  /**
   * How far apart two layers' key frames may be and still be one instant, µs: 60 % of a
   * frame interval (of the layer with the most frames a second), within 8-20 ms. A key
   * frame one frame off is a whole interval away, so this still tells it apart, while the
   * correction's own error (the fastest-transit estimate, a few ms, and more on a loaded
   * machine: 17 ms measured between an OBS-shaped publisher's aligned layers at 30 fps)
   * does not make aligned layers look misaligned.
   */
  tolerance(): number {
    if (this.#o.toleranceUs !== undefined) return this.#o.toleranceUs;
    const step = Math.min(...this.#layers.map((l) => l.minStepUs));
    if (!Number.isFinite(step)) return 12_000;
    return Math.min(MAX_TOLERANCE_US, Math.max(MIN_TOLERANCE_US, Math.round(0.6 * step)));
  }

  verdict(): AlignmentVerdict {
    return checkKeyframeAlignment(
      this.#layers.map((l, i) => ({
        name: l.name,
        keyframesUs: l.keyframesUs.map((t) => this.corrected(i, t)),
        lastUs: l.lastUs === null ? null : this.corrected(i, l.lastUs),
      })),
      { ...this.#o, toleranceUs: this.tolerance() },
    );
  }
}

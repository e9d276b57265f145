/** What the selector learns from one frame of a layer (after that layer's own key frame gate). */
export interface LayerFrame {
  keyframe: boolean;
  /** The layer's size as last read from its bitstream; null before its first key frame. */
  width: number | null;
  height: number | null;
}

export interface LayerSelectorOptions {
  /** The layers' rids, in the offer's a=simulcast order (ties in size go to the earlier). */
  rids: readonly string[];
  /**
   * How long after the first frame of any layer the choice waits for every layer's size
   * (their first key frames) before it takes the largest known. @defaultValue 500
   */
  settleMs?: number;
  /** A layer without a frame for this long counts as stopped (a paused or dropped encoding). @defaultValue 1000 */
  staleMs?: number;
}

interface LayerState {
  lastFrameMs: number;
  area: number | null;
}

/**
 * Which simulcast layer a publish session hands on as its frames (the relay to the
 * transcode, hence the ladder's source): the largest layer that is being sent. Pure:
 * frames and time come in, decisions go out.
 *
 * The first choice waits until every layer showed its size or `settleMs` passed, so the
 * ladder is not planned from a small layer that happened to start first. Later, when a
 * larger layer starts or the current one stops, the switch happens at a key frame of
 * the new layer (the frames handed on stay decodable); until then the current layer
 * goes on, and `wanted()` names the layer to ask for a key frame.
 */
export class TopLayerSelector {
  readonly #rids: readonly string[];
  readonly #settleMs: number;
  readonly #staleMs: number;
  readonly #layers = new Map<string, LayerState>();
  #firstMs: number | null = null;
  /** The layer whose frames are handed on; null before the first choice. */
  current: string | null = null;

  constructor(o: LayerSelectorOptions) {
    this.#rids = o.rids;
    this.#settleMs = o.settleMs ?? 500;
    this.#staleMs = o.staleMs ?? 1000;
  }

  /** A frame of layer `rid` is ready: whether it is handed on (it is the current layer's, or starts it). */
  frame(rid: string, f: LayerFrame, nowMs: number): boolean {
    if (!this.#rids.includes(rid)) return false;
    this.#firstMs ??= nowMs;
    const area = f.width !== null && f.height !== null ? f.width * f.height : null;
    const known = this.#layers.get(rid);
    this.#layers.set(rid, { lastFrameMs: nowMs, area: area ?? known?.area ?? null });
    if (rid === this.current) return true;
    if (!f.keyframe || rid !== this.target(nowMs)) return false;
    if (this.current === null && !this.#settled(nowMs)) return false;
    this.current = rid;
    return true;
  }

  /** The largest layer being sent now (ties: the first in the offer); null when none is. */
  target(nowMs: number): string | null {
    let best: string | null = null;
    let bestArea = -1;
    for (const rid of this.#rids) {
      const l = this.#layers.get(rid);
      if (!l || l.area === null || nowMs - l.lastFrameMs > this.#staleMs) continue;
      if (l.area > bestArea) {
        best = rid;
        bestArea = l.area;
      }
    }
    return best;
  }

  /** The layer a key frame is wanted from (to start, or to switch to); null when none is. */
  wanted(nowMs: number): string | null {
    const target = this.target(nowMs);
    return target !== this.current ? target : null;
  }

  #settled(nowMs: number): boolean {
    if (this.#rids.every((r) => this.#layers.get(r)?.area != null)) return true;
    return this.#firstMs !== null && nowMs - this.#firstMs >= this.#settleMs;
  }
}

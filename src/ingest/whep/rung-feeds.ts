import type { Logger } from '../../core/log.js';
import type { LiveEvent, LiveListener, Storage } from '../../packager/index.js';
import { RungFeed } from './rung-feed.js';

export interface RungFeedsOptions {
  /** Receives every live bus event (the origin's bus: every API process gets every part). */
  subscribe: (listener: LiveListener) => () => void;
  storage: Pick<Storage, 'get'>;
  /** Whether the stream's ladder is live here (the origin has its playlists). */
  isLive: (streamId: string) => boolean;
  log: Logger;
}

interface Held {
  feed: RungFeed;
  users: number;
  ended: Set<() => void>;
}

/** A stream's feed while a viewer holds it; release() with the last viewer stops it. */
export interface RungFeedHandle {
  feed: RungFeed;
  /** Called once when the stream's playlists end (the stream ended). */
  onEnded(listener: () => void): void;
  release(): void;
}

/**
 * The ladder feeds of this process, one per stream that has rung-mode (or fast-joining)
 * WHEP viewers here, fed from one subscription to the live bus held while any feed is.
 */
export class RungFeeds {
  readonly #o: RungFeedsOptions;
  readonly #held = new Map<string, Held>();
  #unsubscribe: (() => void) | null = null;

  constructor(o: RungFeedsOptions) {
    this.#o = o;
  }

  /** Whether the stream's ladder is live here, so a rung-mode viewer can be served. */
  live(streamId: string): boolean {
    return this.#o.isLive(streamId);
  }

  /** The stream's feed, if one is held now (its rungs, for `?rendition=` checks). */
  peek(streamId: string): RungFeed | null {
    return this.#held.get(streamId)?.feed ?? null;
  }

  acquire(streamId: string): RungFeedHandle {
    let h = this.#held.get(streamId);
    if (!h) {
      h = {
        feed: new RungFeed({ streamId, storage: this.#o.storage, log: this.#o.log }),
        users: 0,
        ended: new Set(),
      };
      this.#held.set(streamId, h);
      this.#unsubscribe ??= this.#o.subscribe((e) => this.#event(e));
    }
    h.users++;
    const held = h;
    let released = false;
    return {
      feed: held.feed,
      onEnded: (l) => held.ended.add(l),
      release: () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        held.feed.close();
        if (this.#held.get(streamId) === held) this.#held.delete(streamId);
        if (this.#held.size === 0) {
          this.#unsubscribe?.();
          this.#unsubscribe = null;
        }
      },
    };
  }

  #event(e: LiveEvent): void {
    const h = this.#held.get(e.streamId);
    if (!h) return;
    if (e.state.ended) {
      // One rendition may end alone (a re-planned ladder drops it); the stream ends with
      // all of them, which the origin (on the same bus) knows once it took this event too.
      setImmediate(() => {
        if (this.#o.isLive(e.streamId) || this.#held.get(e.streamId) !== h) return;
        const listeners = [...h.ended];
        h.ended.clear();
        for (const l of listeners) l();
      });
      return;
    }
    h.feed.event(e);
  }

  /** Idempotent. */
  close(): void {
    for (const h of this.#held.values()) h.feed.close();
    this.#held.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }
}

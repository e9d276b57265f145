import { createHash } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** A live stream's poster as the origin serves it. */
export interface Poster {
  body: Buffer;
  /** When it was made: Last-Modified. */
  modified: Date;
  /** Strong: one JPEG, one tag. */
  etag: string;
}

/** What the poster route needs (src/api/routes/posters.ts). */
export interface PostersApi {
  /** The stream's poster, at most `refreshMs` old when it could be remade; null when there is none yet. */
  get(streamId: string): Promise<Poster | null>;
  close(): Promise<void>;
}

export interface LivePostersOptions {
  /** Makes a poster now (src/workers/thumbnails.ts makeStreamPoster); null: nothing to take it from yet. */
  make: (streamId: string, signal: AbortSignal) => Promise<Buffer | null>;
  /** A poster is remade at most this often, and only when asked for. @defaultValue 5000 */
  refreshMs?: number;
  /** ffmpeg runs at once, over every stream. @defaultValue 2 */
  maxRunning?: number;
  /** How long a request waits for a fresh poster before it gets the previous one. @defaultValue 2000 */
  waitMs?: number;
  /** Streams remembered; the least recently asked for goes first. @defaultValue 256 */
  maxStreams?: number;
  log?: Logger;
}

interface Entry {
  poster: Poster | null;
  /** When the last attempt (made or failed) started: the refresh clock. */
  triedAt: number;
  pending: Promise<Poster | null> | null;
}

/**
 * Live posters made on demand and kept in memory: a stream nobody asks about costs
 * nothing, one that many watch costs one short ffmpeg run per refreshMs whatever the
 * number of requests (they share the run in flight). A failed attempt is not retried
 * before refreshMs either, so a stream without segments yet cannot make every request
 * spawn ffmpeg. close() aborts the runs in flight and waits for them.
 */
export class LivePosters implements PostersApi {
  readonly #o: Required<Omit<LivePostersOptions, 'log'>> & { log?: Logger };
  readonly #entries = new Map<string, Entry>();
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  #running = 0;
  readonly #queue: (() => void)[] = [];
  #closing: Promise<void> | null = null;

  constructor(o: LivePostersOptions) {
    this.#o = { refreshMs: 5000, maxRunning: 2, waitMs: 2000, maxStreams: 256, ...o };
  }

  async get(streamId: string): Promise<Poster | null> {
    if (this.#closing) return null;
    let e = this.#entries.get(streamId);
    if (e) {
      // Most recently asked for last: Map keeps insertion order.
      this.#entries.delete(streamId);
      this.#entries.set(streamId, e);
    } else {
      e = { poster: null, triedAt: 0, pending: null };
      this.#entries.set(streamId, e);
      this.#evict();
    }
    const fresh = Date.now() - e.triedAt < this.#o.refreshMs;
    if (fresh && !e.pending) return e.poster;
    e.pending ??= this.#refresh(streamId, e);
    if (!e.poster) return e.pending;
    // A stale poster beats a slow answer.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), this.#o.waitMs)));
    const made = await Promise.race([e.pending, late]);
    clearTimeout(timer);
    return made ?? e.poster;
  }

  #refresh(streamId: string, e: Entry): Promise<Poster | null> {
    e.triedAt = Date.now();
    const p = this.#limited(async () => {
      if (this.#abort.signal.aborted) return null;
      const body = await this.#o.make(streamId, this.#abort.signal);
      if (!body) return null;
      const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
      e.poster = { body, modified: new Date(), etag };
      return e.poster;
    })
      .catch((err: unknown) => {
        this.#o.log?.debug({ streamId, err: errorMessage(err) }, 'live poster failed');
        return null;
      })
      .finally(() => {
        e.pending = null;
        this.#inFlight.delete(p);
      });
    this.#inFlight.add(p);
    return p;
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#o.maxRunning) await new Promise<void>((r) => this.#queue.push(r));
    this.#running += 1;
    try {
      return await fn();
    } finally {
      this.#running -= 1;
      this.#queue.shift()?.();
    }
  }

  #evict(): void {
    for (const [id, e] of this.#entries) {
      if (this.#entries.size <= this.#o.maxStreams) break;
      if (!e.pending) this.#entries.delete(id);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      for (const wake of this.#queue.splice(0)) wake();
      await Promise.allSettled([...this.#inFlight]);
      this.#entries.clear();
    })();
    return this.#closing;
  }
}

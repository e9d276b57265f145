import type { TakeoverPolicy } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { LiveSource } from './source.js';
import { LiveStream } from './stream.js';

export interface LiveStreamsOptions {
  /** TAKEOVER: what a publish to a live stream does. */
  takeover: TakeoverPolicy;
  log: Logger;
}

/** A stream that ended, as GET /api/streams still lists it for a while. */
export interface EndedStream {
  id: string;
  startedAtMs: number;
  endedAtMs: number;
  presetId: string | undefined;
}

/** A publish being negotiated for a stream id: it ends in publish() or cancel(), once. */
export interface PublishSlot {
  /** The negotiated session becomes the stream's source: a new stream, or a takeover. */
  publish(source: LiveSource, presetId: string | undefined): LiveStream;
  cancel(): void;
}

/** How many ended streams are remembered. */
const ENDED_KEPT = 20;

/**
 * Every live stream of this process by id (MediaMTX's path manager): a publish makes a
 * stream or takes one over, per TAKEOVER; listeners hear a stream go live and end.
 */
export class LiveStreams {
  readonly #o: LiveStreamsOptions;
  readonly #log: Logger;
  readonly #live = new Map<string, LiveStream>();
  readonly #ended = new Map<string, EndedStream>();
  /** Publishes being negotiated, per stream id (TAKEOVER=reject refuses a second one at once). */
  readonly #pending = new Map<string, number>();
  readonly #onLive = new Set<(s: LiveStream) => void>();
  readonly #onEnded = new Set<(s: LiveStream, reason: string) => void>();

  constructor(o: LiveStreamsOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'live' });
  }

  get(id: string): LiveStream | null {
    return this.#live.get(id) ?? null;
  }

  /** Live streams, oldest first. */
  live(): LiveStream[] {
    return [...this.#live.values()];
  }

  /** Streams that ended recently (up to 20), newest first. */
  endedStreams(): EndedStream[] {
    return [...this.#ended.values()].reverse();
  }

  endedStream(id: string): EndedStream | null {
    return this.#ended.get(id) ?? null;
  }

  /** Publishes being negotiated now, all streams together. */
  get pending(): number {
    let n = 0;
    for (const v of this.#pending.values()) n += v;
    return n;
  }

  /**
   * Reserves a publish of `id` while its offer is negotiated. Throws `conflict` when the
   * stream is live (or being published) and TAKEOVER=reject.
   */
  reserve(id: string): PublishSlot {
    if (this.#o.takeover === 'reject' && (this.#live.has(id) || this.#pending.has(id))) {
      throw new AppError('conflict', `stream ${id} is already being published (TAKEOVER=reject)`);
    }
    this.#pending.set(id, (this.#pending.get(id) ?? 0) + 1);
    let done = false;
    const release = () => {
      if (done) return false;
      done = true;
      const n = (this.#pending.get(id) ?? 1) - 1;
      if (n > 0) this.#pending.set(id, n);
      else this.#pending.delete(id);
      return true;
    };
    return {
      publish: (source, presetId) => {
        if (!release()) throw new Error('this publish slot was already used');
        return this.#publish(id, source, presetId);
      },
      cancel: () => void release(),
    };
  }

  #publish(id: string, source: LiveSource, presetId: string | undefined): LiveStream {
    const current = this.#live.get(id);
    if (current && !current.ended) {
      current.takeOver(source, presetId);
      return current;
    }
    this.#ended.delete(id);
    const stream = new LiveStream({
      id,
      source,
      presetId,
      log: this.#log,
      onEnded: (s, reason) => this.#streamEnded(s, reason),
    });
    if (stream.ended) return stream;
    this.#live.set(id, stream);
    this.#log.info({ streamId: id, sessionId: source.sessionId, presetId }, 'stream is live');
    for (const l of [...this.#onLive]) this.#call(() => l(stream));
    return stream;
  }

  #streamEnded(s: LiveStream, reason: string): void {
    if (this.#live.get(s.id) !== s) return;
    this.#live.delete(s.id);
    this.#ended.set(s.id, {
      id: s.id,
      startedAtMs: s.startedAtMs,
      endedAtMs: Date.now(),
      presetId: s.presetId,
    });
    while (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value!);
    this.#log.info({ streamId: s.id, reason }, 'stream ended');
    for (const l of [...this.#onEnded]) this.#call(() => l(s, reason));
  }

  /** A stream went live (its first source); returns the unsubscribe. */
  onLive(listener: (s: LiveStream) => void): () => void {
    this.#onLive.add(listener);
    return () => void this.#onLive.delete(listener);
  }

  /** A stream ended (no takeover followed its source's end); returns the unsubscribe. */
  onEnded(listener: (s: LiveStream, reason: string) => void): () => void {
    this.#onEnded.add(listener);
    return () => void this.#onEnded.delete(listener);
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log.error({ err: e }, 'a live stream listener threw');
    }
  }
}

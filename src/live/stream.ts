import type { Logger } from '../core/log.js';
import type { MediaFrame } from '../core/media.js';
import { GopCache } from './gop-cache.js';
import type { LiveReader } from './reader.js';
import type { LiveSource } from './source.js';

export interface LiveStreamOptions {
  id: string;
  source: LiveSource;
  /** `?preset=` of the publish that started the stream. */
  presetId: string | undefined;
  log: Logger;
  /** The stream ended (its source ended with no successor): called once. */
  onEnded: (stream: LiveStream, reason: string) => void;
}

/**
 * One live stream id while it is live: its current source, its readers, and takeover.
 * A takeover makes the new source current and tells every reader before the old source
 * hears it ends; the stream ends when its current source ends for any other reason.
 */
export class LiveStream {
  readonly id: string;
  readonly startedAtMs = Date.now();
  /** The preset of the publish now: a takeover that names one (`?preset=`) changes it. */
  presetId: string | undefined;
  readonly #log: Logger;
  readonly #onEnded: LiveStreamOptions['onEnded'];
  readonly #readers = new Set<LiveReader>();
  #source: LiveSource;
  #offEnd: () => void = () => undefined;
  #offGop: () => void = () => undefined;
  #gop = new GopCache();
  #ended = false;

  constructor(o: LiveStreamOptions) {
    this.id = o.id;
    this.presetId = o.presetId;
    this.#log = o.log;
    this.#onEnded = o.onEnded;
    this.#source = o.source;
    this.#follow(o.source);
  }

  get source(): LiveSource {
    return this.#source;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get readers(): number {
    return this.#readers.size;
  }

  /**
   * The current source's frames since its last key frame, when it is `source` and that key
   * frame is recent (see GopCache): a reader attaching now starts with them.
   */
  recentFrames(source: LiveSource, nowMs = Date.now()): readonly MediaFrame[] {
    return source === this.#source && !this.#ended ? this.#gop.since(nowMs) : [];
  }

  /** Adds a reader and attaches it to the current source at once; returns its removal. */
  addReader(reader: LiveReader): () => void {
    if (this.#ended) {
      reader.streamEnded('ended');
      return () => undefined;
    }
    this.#readers.add(reader);
    this.#call(() => reader.attach(this.#source, false));
    return () => void this.#readers.delete(reader);
  }

  /** `next` replaces the current source: readers follow it, then the old one ends (`takeover`). */
  takeOver(next: LiveSource, presetId?: string): void {
    if (this.#ended) throw new Error(`stream ${this.id} ended: it cannot be taken over`);
    if (presetId !== undefined) this.presetId = presetId;
    const old = this.#source;
    this.#offEnd();
    this.#source = next;
    this.#follow(next);
    this.#log.info({ streamId: this.id, old: old.sessionId, new: next.sessionId }, 'publish taken over');
    for (const r of [...this.#readers]) this.#call(() => r.attach(next, true));
    void old.close('takeover');
  }

  #follow(source: LiveSource): void {
    this.#offGop();
    const gop = (this.#gop = new GopCache());
    // Registered before any reader's listener, so a reader replaying the cache and then
    // listening sees each frame exactly once.
    this.#offGop = source.onFrame((f) => gop.push(f));
    this.#offEnd = source.onEnd((reason) => this.#sourceEnded(source, reason));
    if (source.ended) this.#sourceEnded(source, 'ended before it was followed');
  }

  #sourceEnded(source: LiveSource, reason: string): void {
    if (source !== this.#source || this.#ended) return;
    this.#ended = true;
    this.#offGop();
    this.#gop = new GopCache();
    const readers = [...this.#readers];
    this.#readers.clear();
    for (const r of readers) this.#call(() => r.streamEnded(reason));
    this.#onEnded(this, reason);
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log.error({ err: e, streamId: this.id }, 'a live stream reader threw');
    }
  }
}

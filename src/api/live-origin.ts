import { parsePartName } from '../packager/names.js';
import type { Logger } from '../core/log.js';
import type { LiveBus, LiveEvent } from '../packager/live-bus.js';
import {
  lastShownMsn,
  partNeverComing,
  partPublished,
  renderLivePlaylist,
  renditionReport,
  satisfies,
} from '../packager/live-playlist.js';
import type { LiveRenditionState } from '../packager/live-state.js';
import type { RenditionReport } from '../packager/playlist/media.js';
import type { StoredObject } from '../packager/storage/storage.js';

/**
 * The origin's live half: it follows the packagers' events on the bus, keeps the latest
 * playlist state of every live rendition in memory, answers playlist requests from it
 * and holds blocking requests (`_HLS_msn`/`_HLS_part`, a preload-hinted part) until the
 * event that satisfies them: never a disk poll. HTTP-free; src/api/routes/hls.ts maps
 * the answers to statuses.
 */

/** RFC 8216bis 6.2.5 Delivery Directives, as the route parsed them. */
export interface DeliveryDirectives {
  msn?: number;
  part?: number;
  /** `_HLS_skip=YES` or `v2` (no date ranges here, so both mean the same). */
  skip: boolean;
}

export type PlaylistAnswer =
  | { kind: 'playlist'; body: Buffer; modified: Date }
  /** Not a live rendition this origin knows: serve storage's copy. */
  | { kind: 'not_live' }
  /** RFC 8216bis 6.2.5.2: an `_HLS_msn` more than two segments ahead is a client error. */
  | { kind: 'too_far'; lastMsn: number }
  | { kind: 'timeout' }
  | { kind: 'busy' }
  | { kind: 'aborted' };

export type PartAnswer = 'published' | 'not_live' | 'never' | 'timeout' | 'busy' | 'aborted';

/**
 * Drops a held request (its client went away) without an answer; does nothing once it
 * was answered. What holdPlaylist/holdPart return when they hold the request.
 */
export type CancelHold = () => void;

/** Which streams are live (their playlists change, so caches revalidate them). */
export interface LiveStreams {
  isLive(streamId: string): boolean;
}

/** What the HLS routes need of the live origin. */
export interface LiveOriginApi extends LiveStreams {
  /** The rendition's Media Playlist once it satisfies `d` (at once without `msn`). */
  mediaPlaylist(
    streamId: string,
    rendition: string,
    d: DeliveryDirectives,
    signal: AbortSignal,
  ): Promise<PlaylistAnswer>;
  /**
   * mediaPlaylist without a promise, a signal or a timer per request beyond its timeout:
   * the answer now, or a CancelHold when the request is held; `answer` is then called
   * once, synchronously from the bus event that satisfies it (every request one event
   * releases is answered in one loop, with no async hop between the event and the
   * writes), or from its timeout. Never 'aborted'.
   */
  holdPlaylist(
    streamId: string,
    rendition: string,
    d: DeliveryDirectives,
    answer: (a: PlaylistAnswer) => void,
  ): PlaylistAnswer | CancelHold;
  /** Whether part (msn, part) exists, waiting for it when it is the next one or close to it. */
  awaitPart(
    streamId: string,
    rendition: string,
    msn: number,
    part: number,
    signal: AbortSignal,
  ): Promise<PartAnswer>;
  /** awaitPart as holdPlaylist is to mediaPlaylist. */
  holdPart(
    streamId: string,
    rendition: string,
    msn: number,
    part: number,
    answer: (a: PartAnswer) => void,
  ): PartAnswer | CancelHold;
  /**
   * Part `name` of the stream from memory: a part read from storage earlier (keepPart)
   * whose segment the rendition's playlist window still holds, so storage still has it
   * (the packager writes a part before announcing it and deletes it only after its
   * segment left the window). null: read storage.
   */
  cachedPart?(streamId: string, name: string): StoredObject | null;
  /** Offers a part just read from storage to memory; kept while its segment is in the window. */
  keepPart?(streamId: string, name: string, obj: StoredObject): void;
}

/** Whether part (msn, part) belongs to a segment the window holds: open, or complete and not a gap. */
function partInWindow(s: LiveRenditionState, msn: number, part: number): boolean {
  if (s.open && s.open.msn === msn) return part < s.open.parts.length;
  const seg = s.segments[msn - s.mediaSequence];
  return seg !== undefined && seg.msn === msn && !seg.gap && part < seg.partCount;
}

/**
 * How long a blocking playlist request is held before 503. RFC 8216bis 6.2.5.2 lets a
 * server wait up to three target durations. hls.js gives up earlier: for a request with
 * `_HLS_part` it sets its timeout to max(3 x PART-TARGET, 0.8 x TARGETDURATION)
 * (playlist-loader.ts, "maxLowLatencyPlaylistRefresh"), else its level loading default of
 * 10 s. A 503 that arrives after the client gave up is wasted and the client's retry
 * starts late, so the origin answers at 85% of hls.js's timeout (at least 250 ms
 * before it), capped at 3 x TARGETDURATION. Target 4 s, part 0.342 s: 2.72 s; target
 * 1 s, part 0.2 s: 0.55 s; without `_HLS_part`, target 4 s: 8.5 s.
 */
export function blockingTimeoutMs(targetDuration: number, partTarget: number, withPart: boolean): number {
  const hlsJsMs = withPart ? Math.max(3 * partTarget, 0.8 * targetDuration) * 1000 : 10_000;
  const ms = Math.min(hlsJsMs * 0.85, hlsJsMs - 250, 3 * targetDuration * 1000);
  return Math.max(100, Math.round(ms));
}

/** How long a request for a part that does not exist yet is held: as a playlist without `_HLS_part`. */
export function partWaitMs(targetDuration: number, partTarget: number): number {
  return blockingTimeoutMs(targetDuration, partTarget, false);
}

export interface LiveOriginOptions {
  bus: LiveBus;
  log?: Logger;
  /** Requests held at once (playlists and parts, every stream); more get 503 at once. @defaultValue 10000 */
  maxHeld?: number;
  /** A stream with no event for this long is forgotten (storage serves it). @defaultValue 120000 */
  idleMs?: number;
  /** An ended stream is forgotten after this long. @defaultValue 60000 */
  endedKeepMs?: number;
  /** Bytes of recent parts kept in memory (cachedPart), least recently served dropped first. @defaultValue 64 MiB */
  partCacheBytes?: number;
  now?: () => number;
  /** Called when an event wakes held requests: how long the event took from the packager to here. */
  onWake?: (o: { streamId: string; rendition: string; woken: number; busLagMs: number }) => void;
}

/**
 * A held request. One object per request, no closures: the event that wakes thousands of
 * them at once only calls decide() and answer() on each.
 */
class Waiter {
  timer: NodeJS.Timeout | null = null;
  done = false;

  constructor(
    readonly entry: RenditionEntry,
    /** The answer once `s` allows one, else null. */
    readonly decide: (s: LiveRenditionState) => unknown,
    readonly answer: (v: unknown) => void,
  ) {}
}

interface RenditionEntry {
  state: LiveRenditionState;
  /** Held requests, oldest first. */
  waiters: Set<Waiter>;
  /** This state's playlists (full, delta): rendered once per event, shared by every request. */
  full: PlaylistAnswer | null;
  delta: PlaylistAnswer | null;
}

interface StreamEntry {
  renditions: Map<string, RenditionEntry>;
  lastEventMs: number;
}

/** A part in memory with its parsed name, so that a hit needs no parsing. */
interface KeptPart {
  obj: StoredObject;
  rendition: string;
  msn: number;
  part: number;
}

/** Progress of a state: later parts and segments, then the end. */
function progress(s: LiveRenditionState): [number, number, number] {
  return s.open ? [s.open.msn, s.open.parts.length, 0] : [s.nextMsn, 0, s.ended ? 1 : 0];
}

function older(a: LiveRenditionState, b: LiveRenditionState): boolean {
  const pa = progress(a);
  const pb = progress(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]!;
  return false;
}

/** A promise for a callback-style hold, cancelled by `signal`. */
function promiseOf<T>(
  signal: AbortSignal,
  onAbort: T,
  hold: (answer: (v: T) => void) => T | CancelHold,
): Promise<T> {
  if (signal.aborted) return Promise.resolve(onAbort);
  return new Promise<T>((resolve) => {
    let cancel: CancelHold = () => undefined;
    const aborted = (): void => {
      cancel();
      resolve(onAbort);
    };
    const now = hold((v) => {
      signal.removeEventListener('abort', aborted);
      resolve(v);
    });
    if (typeof now !== 'function') return resolve(now as T);
    cancel = now as CancelHold;
    signal.addEventListener('abort', aborted, { once: true });
  });
}

export class LiveOrigin implements LiveOriginApi {
  readonly #o: LiveOriginOptions;
  readonly #now: () => number;
  readonly #maxHeld: number;
  readonly #partCap: number;
  readonly #streams = new Map<string, StreamEntry>();
  /** Recent parts by `{streamId}/{name}`, least recently served first. */
  readonly #parts = new Map<string, KeptPart>();
  #partBytes = 0;
  readonly #unsubscribe: () => void;
  readonly #sweeper: NodeJS.Timeout;
  #held = 0;
  #closed = false;

  constructor(o: LiveOriginOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#maxHeld = o.maxHeld ?? 10_000;
    this.#partCap = o.partCacheBytes ?? 64 * 1024 * 1024;
    this.#unsubscribe = o.bus.subscribe((e) => this.#onEvent(e));
    this.#sweeper = setInterval(() => this.#sweep(), 5000);
    this.#sweeper.unref();
  }

  /** Resolves once events published from now on reach this origin. */
  ready(): Promise<void> {
    return this.#o.bus.ready();
  }

  /** Requests held now. */
  get held(): number {
    return this.#held;
  }

  /** Bytes of parts in memory now (tests, diagnostics). */
  get partBytes(): number {
    return this.#partBytes;
  }

  isLive(streamId: string): boolean {
    const s = this.#streams.get(streamId);
    if (!s) return false;
    for (const r of s.renditions.values()) if (!r.state.ended) return true;
    return false;
  }

  /** The latest state of a rendition, if live here (tests, diagnostics). */
  state(streamId: string, rendition: string): LiveRenditionState | null {
    return this.#streams.get(streamId)?.renditions.get(rendition)?.state ?? null;
  }

  mediaPlaylist(
    streamId: string,
    rendition: string,
    d: DeliveryDirectives,
    signal: AbortSignal,
  ): Promise<PlaylistAnswer> {
    return promiseOf<PlaylistAnswer>(signal, { kind: 'aborted' }, (answer) =>
      this.holdPlaylist(streamId, rendition, d, answer),
    );
  }

  holdPlaylist(
    streamId: string,
    rendition: string,
    d: DeliveryDirectives,
    answer: (a: PlaylistAnswer) => void,
  ): PlaylistAnswer | CancelHold {
    const stream = this.#streams.get(streamId);
    const entry = stream?.renditions.get(rendition);
    if (!stream || !entry || this.#closed) return { kind: 'not_live' };
    const s = entry.state;
    const { msn, part, skip } = d;
    if (msn === undefined || s.ended || satisfies(s, msn, part)) return this.#answer(stream, entry, skip);
    // RFC 8216bis 6.2.5.2: "If the _HLS_msn is greater than the Media Sequence Number of
    // the last Media Segment in the current Playlist plus two, ... the server MUST
    // immediately respond with HTTP 400."
    const last = lastShownMsn(s);
    if (msn > last + 2) return { kind: 'too_far', lastMsn: last };
    const timeoutMs = blockingTimeoutMs(s.targetDuration, s.partTarget, part !== undefined);
    return this.#hold<PlaylistAnswer>(
      entry,
      timeoutMs,
      { kind: 'timeout' },
      { kind: 'busy' },
      (st) => (st.ended || satisfies(st, msn, part) ? this.#answer(stream, entry, skip) : null),
      answer,
    );
  }

  awaitPart(
    streamId: string,
    rendition: string,
    msn: number,
    part: number,
    signal: AbortSignal,
  ): Promise<PartAnswer> {
    return promiseOf<PartAnswer>(signal, 'aborted', (answer) =>
      this.holdPart(streamId, rendition, msn, part, answer),
    );
  }

  holdPart(
    streamId: string,
    rendition: string,
    msn: number,
    part: number,
    answer: (a: PartAnswer) => void,
  ): PartAnswer | CancelHold {
    const entry = this.#streams.get(streamId)?.renditions.get(rendition);
    if (!entry || this.#closed) return 'not_live';
    const decide = (st: LiveRenditionState): PartAnswer | null =>
      partPublished(st, msn, part) ? 'published' : partNeverComing(st, msn, part) ? 'never' : null;
    const now = decide(entry.state);
    if (now) return now;
    // Only the next few parts are worth waiting for: a preload hint names the next one.
    if (msn > lastShownMsn(entry.state) + 1) return 'never';
    const timeoutMs = partWaitMs(entry.state.targetDuration, entry.state.partTarget);
    return this.#hold<PartAnswer>(entry, timeoutMs, 'timeout', 'busy', decide, answer);
  }

  cachedPart(streamId: string, name: string): StoredObject | null {
    const key = `${streamId}/${name}`;
    const kept = this.#parts.get(key);
    if (!kept) return null;
    const state = this.#streams.get(streamId)?.renditions.get(kept.rendition)?.state;
    if (!state || state.ended || !partInWindow(state, kept.msn, kept.part)) {
      this.#dropPart(key);
      return null;
    }
    // Most recently served last.
    this.#parts.delete(key);
    this.#parts.set(key, kept);
    return kept.obj;
  }

  keepPart(streamId: string, name: string, obj: StoredObject): void {
    const key = `${streamId}/${name}`;
    const cap = this.#partCap;
    if (this.#closed || this.#parts.has(key) || obj.body.length > cap / 4) return;
    const p = parsePartName(name);
    const state = p && this.#streams.get(streamId)?.renditions.get(p.rendition)?.state;
    if (!p || !state || state.ended || !partInWindow(state, p.msn, p.part)) return;
    this.#parts.set(key, { obj, rendition: p.rendition, msn: p.msn, part: p.part });
    this.#partBytes += obj.body.length;
    for (const k of this.#parts.keys()) {
      if (this.#partBytes <= cap) break;
      this.#dropPart(k);
    }
  }

  /** Idempotent: answers every held request with a timeout and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#sweeper);
    for (const s of this.#streams.values()) {
      for (const r of s.renditions.values()) this.#wake(r, { ...r.state, ended: true });
    }
    this.#streams.clear();
    this.#parts.clear();
    this.#partBytes = 0;
  }

  #dropPart(key: string): void {
    const kept = this.#parts.get(key);
    if (!kept) return;
    this.#parts.delete(key);
    this.#partBytes -= kept.obj.body.length;
  }

  #hold<T>(
    entry: RenditionEntry,
    timeoutMs: number,
    onTimeout: T,
    onBusy: T,
    decide: (s: LiveRenditionState) => T | null,
    answer: (v: T) => void,
  ): T | CancelHold {
    if (this.#held >= this.#maxHeld) return onBusy;
    this.#held++;
    const w = new Waiter(entry, decide, answer as (v: unknown) => void);
    w.timer = setTimeout(() => {
      if (this.#release(w)) this.#deliver(w, onTimeout);
    }, timeoutMs);
    entry.waiters.add(w);
    return () => void this.#release(w);
  }

  /** Marks a waiter answered (or dropped) and forgets it; false if it already was. */
  #release(w: Waiter): boolean {
    if (w.done) return false;
    w.done = true;
    this.#held--;
    if (w.timer) clearTimeout(w.timer);
    w.entry.waiters.delete(w);
    return true;
  }

  #deliver(w: Waiter, v: unknown): void {
    try {
      w.answer(v);
    } catch (e) {
      // One failing answer must not keep the others held.
      this.#o.log?.error({ err: e }, 'answering a held request failed');
    }
  }

  /** Answers every waiter of `r` that `state` satisfies, oldest first; returns how many. */
  #wake(r: RenditionEntry, state: LiveRenditionState): number {
    if (r.waiters.size === 0) return 0;
    // Swap the set: the woken leave it by not being copied back, O(1) each.
    const waiters = r.waiters;
    r.waiters = new Set();
    let woken = 0;
    for (const w of waiters) {
      if (w.done) continue;
      const v = w.decide(state);
      if (v === null) {
        r.waiters.add(w);
        continue;
      }
      w.done = true;
      this.#held--;
      if (w.timer) clearTimeout(w.timer);
      woken++;
      this.#deliver(w, v);
    }
    return woken;
  }

  #answer(stream: StreamEntry, entry: RenditionEntry, skip: boolean): PlaylistAnswer {
    const cached = skip ? entry.delta : entry.full;
    if (cached) return cached;
    const reports: RenditionReport[] = [];
    for (const other of stream.renditions.values()) {
      if (other === entry) continue;
      const rep = renditionReport(other.state);
      if (rep) reports.push(rep);
    }
    const body = Buffer.from(renderLivePlaylist(entry.state, { skip, reports }));
    const a: PlaylistAnswer = { kind: 'playlist', body, modified: new Date(entry.state.updatedMs) };
    if (skip) entry.delta = a;
    else entry.full = a;
    return a;
  }

  #onEvent(e: LiveEvent): void {
    if (this.#closed) return;
    let stream = this.#streams.get(e.streamId);
    if (!stream) {
      stream = { renditions: new Map(), lastEventMs: 0 };
      this.#streams.set(e.streamId, stream);
    }
    let entry = stream.renditions.get(e.rendition);
    if (entry && older(e.state, entry.state)) return;
    if (!entry) {
      entry = { state: e.state, waiters: new Set(), full: null, delta: null };
      stream.renditions.set(e.rendition, entry);
    }
    entry.state = e.state;
    // Every playlist of the stream changes: its own, and the others' rendition reports.
    for (const r of stream.renditions.values()) {
      r.full = null;
      r.delta = null;
    }
    stream.lastEventMs = this.#now();
    const woken = this.#wake(entry, e.state);
    if (woken > 0) {
      this.#o.onWake?.({ streamId: e.streamId, rendition: e.rendition, woken, busLagMs: this.#now() - e.at });
    }
  }

  /** Forgets streams that ended a while ago or went silent (a dead worker): storage serves them. */
  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#streams) {
      const states = [...s.renditions.values()];
      if (states.some((r) => r.waiters.size > 0)) continue;
      const ended = states.every((r) => r.state.ended);
      const keep = ended ? (this.#o.endedKeepMs ?? 60_000) : (this.#o.idleMs ?? 120_000);
      if (now - s.lastEventMs > keep) {
        this.#streams.delete(id);
        for (const key of [...this.#parts.keys()]) if (key.startsWith(`${id}/`)) this.#dropPart(key);
      }
    }
  }
}

import type { Logger } from '../core/log.js';
import {
  lastShownMsn,
  MP4_TYPE,
  partNeverComing,
  partPublished,
  renderLivePlaylist,
  renditionReport,
  satisfies,
  type LiveBus,
  type LiveEvent,
  type LiveRenditionState,
  type RenditionReport,
  type StoredObject,
} from '../packager/index.js';
import type { DeliveryDirectives } from './directives.js';
import { HeldRequests, type CancelHold, type HoldOutcomes, type WaitingRoom } from './held-requests.js';
import { PartMemory } from './part-memory.js';
import { blockingTimeoutMs, partWaitMs } from './timeouts.js';

/**
 * The origin's live memory: it follows the packagers' events on the bus, keeps the latest
 * playlist state of every live rendition and its recent parts, answers playlist requests
 * from it and holds blocking requests (`_HLS_msn`/`_HLS_part`, a preload-hinted part)
 * until the event that satisfies them: never a disk poll, never a storage round trip.
 * HTTP-free; router.ts and fast-lane.ts map the answers to statuses.
 */

export type PlaylistAnswer =
  | { kind: 'playlist'; body: Buffer; modified: Date }
  /** Not a live rendition this origin knows: serve storage's copy. */
  | { kind: 'not_live' }
  /** RFC 8216bis 6.2.5.2: an `_HLS_msn` more than two segments ahead is a client error. */
  | { kind: 'too_far'; lastMsn: number }
  | { kind: 'timeout' }
  /** Every client's held requests together reached the cap. */
  | { kind: 'busy' }
  /** This client holds its share of held requests already (MAX_HELD_PER_CLIENT). */
  | { kind: 'limited' };

export type PartAnswer = 'published' | 'not_live' | 'never' | 'timeout' | 'busy' | 'limited';

export type { CancelHold } from './held-requests.js';

/** What the HLS routes need of the live origin. */
export interface LiveOriginApi {
  /** Whether the stream is live here (its playlists change, so caches revalidate them). */
  isLive(streamId: string): boolean;
  /**
   * The rendition's Media Playlist once it satisfies `d` (at once without `msn`): the
   * answer now, or a CancelHold when the request is held for `client` (a client key,
   * counted against its own cap); `answer` is then called once,
   * synchronously from the bus event that satisfies it (every request one event
   * releases is answered in one loop, with no async hop between the event and the
   * writes), or from its timeout.
   */
  holdPlaylist(
    streamId: string,
    rendition: string,
    d: DeliveryDirectives,
    client: string,
    answer: (a: PlaylistAnswer) => void,
  ): PlaylistAnswer | CancelHold;
  /** Whether part (msn, part) exists, held as holdPlaylist when it is the next one or close to it. */
  holdPart(
    streamId: string,
    rendition: string,
    msn: number,
    part: number,
    client: string,
    answer: (a: PartAnswer) => void,
  ): PartAnswer | CancelHold;
  /**
   * Part `name` of the stream from memory, while its segment is in the window; null:
   * read storage.
   */
  cachedPart(streamId: string, name: string): StoredObject | null;
  /** Offers a part just read from storage to memory; kept while its segment is in the window. */
  keepPart(streamId: string, name: string, obj: StoredObject): void;
}

export interface LiveOriginOptions {
  bus: LiveBus;
  log?: Logger;
  /** Requests held at once (playlists and parts, every stream); more get 503 at once. @defaultValue 10000 */
  maxHeld?: number;
  /** Requests one client may hold at once (MAX_HELD_PER_CLIENT); more get 429 at once. @defaultValue 500 */
  maxHeldPerClient?: number;
  /** A stream with no event for this long is forgotten (storage serves it). @defaultValue 120000 */
  idleMs?: number;
  /** An ended stream is forgotten after this long. @defaultValue 60000 */
  endedKeepMs?: number;
  /** Bytes of recent parts kept in memory, least recently used dropped first. @defaultValue 64 MiB */
  partCacheBytes?: number;
  now?: () => number;
  /** Called when an event wakes held requests: how long the event took from the packager to here. */
  onWake?: (o: { streamId: string; rendition: string; woken: number; busLagMs: number }) => void;
}

interface RenditionEntry extends WaitingRoom<LiveRenditionState> {
  state: LiveRenditionState;
  /** This state's playlists (full, delta): rendered once per event, shared by every request. */
  full: PlaylistAnswer | null;
  delta: PlaylistAnswer | null;
}

interface StreamEntry {
  renditions: Map<string, RenditionEntry>;
  lastEventMs: number;
}

/** Progress of a state: later parts and segments, then the end. */
function progress(s: LiveRenditionState): [number, number, number] {
  return s.open ? [s.open.msn, s.open.parts.length, 0] : [s.nextMsn, 0, s.ended ? 1 : 0];
}

/** What a held playlist or part request answers when it does not wait; one object for all. */
const PLAYLIST_OUTCOMES: HoldOutcomes<PlaylistAnswer> = {
  timeout: { kind: 'timeout' },
  busy: { kind: 'busy' },
  limited: { kind: 'limited' },
};
const PART_OUTCOMES: HoldOutcomes<PartAnswer> = { timeout: 'timeout', busy: 'busy', limited: 'limited' };

function older(a: LiveRenditionState, b: LiveRenditionState): boolean {
  const pa = progress(a);
  const pb = progress(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! < pb[i]!;
  return false;
}

export class LiveOrigin implements LiveOriginApi {
  readonly #o: LiveOriginOptions;
  readonly #now: () => number;
  readonly #streams = new Map<string, StreamEntry>();
  readonly #held: HeldRequests<LiveRenditionState>;
  readonly #parts: PartMemory;
  readonly #unsubscribe: () => void;
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(o: LiveOriginOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#held = new HeldRequests({
      max: o.maxHeld ?? 10_000,
      maxPerClient: o.maxHeldPerClient ?? 500,
      ...(o.log ? { log: o.log } : {}),
    });
    this.#parts = new PartMemory(o.partCacheBytes ?? 64 * 1024 * 1024);
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
    return this.#held.count;
  }

  /** Bytes of parts in memory now (tests, diagnostics). */
  get partBytes(): number {
    return this.#parts.bytes;
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

  holdPlaylist(
    streamId: string,
    rendition: string,
    d: DeliveryDirectives,
    client: string,
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
    return this.#held.hold<PlaylistAnswer>(
      entry,
      client,
      timeoutMs,
      PLAYLIST_OUTCOMES,
      (st) => (st.ended || satisfies(st, msn, part) ? this.#answer(stream, entry, skip) : null),
      answer,
    );
  }

  holdPart(
    streamId: string,
    rendition: string,
    msn: number,
    part: number,
    client: string,
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
    return this.#held.hold<PartAnswer>(entry, client, timeoutMs, PART_OUTCOMES, decide, answer);
  }

  cachedPart(streamId: string, name: string): StoredObject | null {
    const stream = this.#streams.get(streamId);
    if (!stream) return null;
    return this.#parts.get(streamId, name, (r) => stream.renditions.get(r)?.state ?? null);
  }

  keepPart(streamId: string, name: string, obj: StoredObject): void {
    if (this.#closed) return;
    const stream = this.#streams.get(streamId);
    if (!stream) return;
    this.#parts.keep(streamId, name, obj, (r) => stream.renditions.get(r)?.state ?? null);
  }

  /** Idempotent: answers every held request with a timeout and stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#sweeper);
    for (const s of this.#streams.values()) {
      for (const r of s.renditions.values()) this.#held.wake(r, { ...r.state, ended: true });
    }
    this.#streams.clear();
    this.#parts.clear();
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
    // The part's bytes first: a request the event wakes finds them in memory.
    if (e.part && e.partBody) {
      const obj = { body: e.partBody, contentType: MP4_TYPE, modified: new Date(e.at) };
      this.#parts.keep(e.streamId, e.part.uri, obj, (r) => (r === e.rendition ? e.state : null));
    }
    const woken = this.#held.wake(entry, e.state);
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
        this.#parts.dropStream(id);
      }
    }
  }
}

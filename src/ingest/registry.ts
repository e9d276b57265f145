import type { TakeoverPolicy } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { FrameSource, FrameSources } from '../core/media.js';
import type { IngestApi, StreamView } from '../core/streams.js';
import { negotiateOffer } from './sdp/offer.js';
import type { PeerNetworkOptions } from './whip/peer.js';
import { WhipSession, type SessionEndReason } from './whip/session.js';

export interface IngestRegistryOptions {
  log: Logger;
  /** ICE_SERVERS. */
  iceServers: readonly string[];
  /** TAKEOVER: what a publish to a live stream does. */
  takeover: TakeoverPolicy;
  /** MEDIA_TIMEOUT_MS. */
  mediaTimeoutMs: number;
  /** Host addresses, IPv6 and port range for ICE (see PeerNetworkOptions). */
  network?: Omit<PeerNetworkOptions, 'iceServers'>;
  /** Publish sessions at once, all streams together; more get 503. @defaultValue 64 */
  maxSessions?: number;
  /** Key frame requests per session at most this often. @defaultValue 500 */
  keyframeMinIntervalMs?: number;
  /** The playlist a stream's view links to. @defaultValue `/hls/{id}/index.m3u8` */
  playlistUrl?: (streamId: string) => string;
  /**
   * A stream went live: its first session was created (the composition root queues the
   * live transcode job here). `presetId` is the publisher's `?preset=`, if any.
   */
  onStreamLive?: (streamId: string, presetId: string | undefined) => void;
  /** A stream's last session ended without a takeover. */
  onStreamEnded?: (streamId: string) => void;
}

export interface PublishRequest {
  streamId: string;
  /** The SDP offer as received. */
  offer: string;
  presetId?: string;
}

interface StreamEntry {
  id: string;
  current: WhipSession;
  startedAtMs: number;
  presetId: string | undefined;
}

interface EndedStream {
  id: string;
  startedAtMs: number;
  endedAtMs: number;
  presetId: string | undefined;
}

/** How many ended streams GET /api/streams still shows. */
const ENDED_KEPT = 20;

/**
 * The ingest role's sessions, one current per stream. A new publish to a live stream
 * takes over (the old session ends with reason `takeover`) or, with TAKEOVER=reject, gets
 * 409. A stream is live from its first session until its current session ends for any
 * other reason than a takeover. close() ends every session.
 */
export class IngestRegistry implements FrameSources, IngestApi {
  readonly #opts: IngestRegistryOptions;
  readonly #log: Logger;
  readonly #streams = new Map<string, StreamEntry>();
  readonly #ended = new Map<string, EndedStream>();
  readonly #sessions = new Map<string, WhipSession>();
  /** Streams with a publish being negotiated (TAKEOVER=reject refuses a second one at once). */
  readonly #pending = new Map<string, number>();
  readonly #sessionListeners = new Set<(session: WhipSession) => void>();
  #closing: Promise<void> | null = null;

  constructor(opts: IngestRegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'ingest' });
  }

  /**
   * Negotiates a publish. Throws an AppError: `bad_request` / `unprocessable` for an
   * offer ingest cannot take, `conflict` when the stream is live and TAKEOVER=reject,
   * `unavailable` when the session limit is reached or the registry is closing. Nothing
   * changes unless it succeeds.
   */
  async publish(req: PublishRequest): Promise<WhipSession> {
    const offer = negotiateOffer(req.offer);
    const { streamId } = req;
    if (this.#closing) throw new AppError('unavailable', 'ingest is shutting down');
    if (this.#opts.takeover === 'reject' && (this.#streams.has(streamId) || this.#pending.has(streamId))) {
      throw new AppError('conflict', `stream ${streamId} is already being published (TAKEOVER=reject)`);
    }
    const pendingTotal = [...this.#pending.values()].reduce((a, b) => a + b, 0);
    if (this.#sessions.size + pendingTotal >= (this.#opts.maxSessions ?? 64)) {
      throw new AppError('unavailable', 'too many publish sessions; try again later');
    }
    this.#pending.set(streamId, (this.#pending.get(streamId) ?? 0) + 1);
    let session: WhipSession;
    try {
      session = await WhipSession.start({
        streamId,
        offer,
        network: { ...this.#opts.network, iceServers: this.#opts.iceServers },
        mediaTimeoutMs: this.#opts.mediaTimeoutMs,
        keyframeMinIntervalMs: this.#opts.keyframeMinIntervalMs ?? 500,
        log: this.#log,
      });
    } finally {
      const n = (this.#pending.get(streamId) ?? 1) - 1;
      if (n > 0) this.#pending.set(streamId, n);
      else this.#pending.delete(streamId);
    }
    if (this.#closing) {
      await session.close('shutdown');
      throw new AppError('unavailable', 'ingest is shutting down');
    }
    this.#adopt(session, req.presetId);
    return session;
  }

  #adopt(session: WhipSession, presetId: string | undefined): void {
    const { streamId } = session;
    this.#sessions.set(session.sessionId, session);
    session.onEnd((reason) => this.#sessionEnded(session, reason as SessionEndReason));
    const entry = this.#streams.get(streamId);
    if (entry) {
      // Takeover: the new session is current before the old one hears why it ends.
      const old = entry.current;
      entry.current = session;
      this.#log.info({ streamId, old: old.sessionId, new: session.sessionId }, 'publish taken over');
      void old.close('takeover');
    } else {
      this.#ended.delete(streamId);
      this.#streams.set(streamId, {
        id: streamId,
        current: session,
        startedAtMs: session.startedAtMs,
        presetId,
      });
      this.#log.info({ streamId, sessionId: session.sessionId, presetId }, 'stream is live');
      this.#call(() => this.#opts.onStreamLive?.(streamId, presetId));
    }
    for (const l of this.#sessionListeners) this.#call(() => l(session));
  }

  #sessionEnded(session: WhipSession, reason: SessionEndReason): void {
    this.#sessions.delete(session.sessionId);
    const entry = this.#streams.get(session.streamId);
    if (!entry || entry.current !== session) return; // a taken-over session: the stream goes on
    this.#streams.delete(session.streamId);
    this.#ended.set(session.streamId, {
      id: session.streamId,
      startedAtMs: entry.startedAtMs,
      endedAtMs: Date.now(),
      presetId: entry.presetId,
    });
    while (this.#ended.size > ENDED_KEPT) this.#ended.delete(this.#ended.keys().next().value!);
    this.#log.info({ streamId: session.streamId, reason }, 'stream ended');
    this.#call(() => this.#opts.onStreamEnded?.(session.streamId));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#log.error({ err: e }, 'an ingest listener threw');
    }
  }

  /** The session behind a WHIP session URL, if it is still running. */
  session(streamId: string, sessionId: string): WhipSession | null {
    const s = this.#sessions.get(sessionId);
    return s && s.streamId === streamId && !s.ended ? s : null;
  }

  /** DELETE: ends the session; false when there is no such running session. */
  async end(streamId: string, sessionId: string): Promise<boolean> {
    const s = this.session(streamId, sessionId);
    if (!s) return false;
    await s.close('deleted');
    return true;
  }

  // FrameSources

  current(streamId: string): FrameSource | null {
    return this.#streams.get(streamId)?.current ?? null;
  }

  onSession(listener: (source: FrameSource) => void): () => void {
    this.#sessionListeners.add(listener);
    return () => this.#sessionListeners.delete(listener);
  }

  // RtpPublishers (WHEP)

  /** The current publish session of a live stream (WHEP taps its RTP). */
  publisher(streamId: string): WhipSession | null {
    return this.#streams.get(streamId)?.current ?? null;
  }

  onPublisher(listener: (session: WhipSession) => void): () => void {
    this.#sessionListeners.add(listener);
    return () => this.#sessionListeners.delete(listener);
  }

  // IngestApi

  #playlistUrl(id: string): string {
    return this.#opts.playlistUrl?.(id) ?? `/hls/${encodeURIComponent(id)}/index.m3u8`;
  }

  #liveView(e: StreamEntry): StreamView {
    const v: StreamView = {
      id: e.id,
      state: 'live',
      startedAt: new Date(e.startedAtMs).toISOString(),
      playlistUrl: this.#playlistUrl(e.id),
      ingest: e.current.stats(),
    };
    if (e.presetId !== undefined) v.presetId = e.presetId;
    return v;
  }

  #endedView(e: EndedStream): StreamView {
    const v: StreamView = {
      id: e.id,
      state: 'ended',
      startedAt: new Date(e.startedAtMs).toISOString(),
      endedAt: new Date(e.endedAtMs).toISOString(),
      playlistUrl: this.#playlistUrl(e.id),
    };
    if (e.presetId !== undefined) v.presetId = e.presetId;
    return v;
  }

  /** Live streams, then the most recently ended ones (up to 20), newest first. */
  list(): StreamView[] {
    const live = [...this.#streams.values()].map((e) => this.#liveView(e));
    const ended = [...this.#ended.values()].reverse().map((e) => this.#endedView(e));
    return [...live, ...ended];
  }

  get(id: string): StreamView | null {
    const live = this.#streams.get(id);
    if (live) return this.#liveView(live);
    const ended = this.#ended.get(id);
    return ended ? this.#endedView(ended) : null;
  }

  /** Ends every session (reason `shutdown`); idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = Promise.allSettled([...this.#sessions.values()].map((s) => s.close('shutdown'))).then(
        () => undefined,
      );
    }
    return this.#closing;
  }
}

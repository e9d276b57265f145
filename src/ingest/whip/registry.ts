import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { PerClientCounts } from '../../core/per-client.js';
import { negotiateOffer } from '../sdp/offer.js';
import type { SdpSessionHandle } from '../peer/session-handle.js';
import { SessionTable } from '../peer/session-table.js';
import type { PeerNetworkOptions } from './peer.js';
import { WhipSession } from './session.js';

/** What ingest needs of the live streams: a publish slot per negotiation (live/streams.ts). */
export interface StreamPublishing {
  /** Throws `conflict` when the stream may not be published now (TAKEOVER=reject). */
  reserve(streamId: string): {
    publish(session: WhipSession, presetId: string | undefined): unknown;
    cancel(): void;
  };
}

/** What the WHIP routes (src/api/routes/whip.ts) need of ingest. */
export interface WhipIngest {
  /** Throws AppErrors (400, 409, 422, 503) for offers it cannot take. */
  publish(req: PublishRequest): Promise<SdpSessionHandle & { answer: string }>;
  session(streamId: string, sessionId: string): SdpSessionHandle | null;
  end(streamId: string, sessionId: string): Promise<boolean>;
}

export interface IngestRegistryOptions {
  log: Logger;
  /** Where a negotiated session goes: a new live stream, or a takeover. */
  streams: StreamPublishing;
  /** ICE_SERVERS. */
  iceServers: readonly string[];
  /** MEDIA_TIMEOUT_MS. */
  mediaTimeoutMs: number;
  /** Host addresses, IPv6 and port range for ICE (see PeerNetworkOptions). */
  network?: Omit<PeerNetworkOptions, 'iceServers'>;
  /** Publish sessions at once, all streams together; more get 503. @defaultValue 64 */
  maxSessions?: number;
  /** Publish sessions one client holds at once (MAX_PUBLISHES_PER_CLIENT); more get 429. @defaultValue 16 */
  maxSessionsPerClient?: number;
  /** Key frame requests per session at most this often. @defaultValue 500 */
  keyframeMinIntervalMs?: number;
  /** True once the process drains (SIGTERM): publishes get 503. */
  draining?: () => boolean;
  /**
   * Null when the stream's transcode job can be queued; else why not (the queue's Redis is
   * unreachable): publishes get 503 with Retry-After rather than a stream never transcoded.
   */
  canQueue?: () => Promise<string | null>;
  /** Whether `?preset=` names a preset; an unknown one is refused before anything changes. */
  presetExists?: (presetId: string) => Promise<boolean>;
}

export interface PublishRequest {
  streamId: string;
  /** The SDP offer as received. */
  offer: string;
  presetId?: string;
  /** Who publishes (a client key, src/core/client-address.ts): counted against its own cap. */
  client: string;
}

/**
 * The WHIP sessions of this process (POST, PATCH, DELETE), under one cap. A negotiated
 * session is handed to the live streams, which make it a stream's source (a new stream,
 * or a takeover). close() ends every session.
 */
export class IngestRegistry implements WhipIngest {
  readonly #opts: IngestRegistryOptions;
  readonly #log: Logger;
  readonly #sessions = new SessionTable<WhipSession>();
  /** Offers being negotiated now. */
  #negotiating = 0;
  /** Sessions (negotiating or running) per client. */
  readonly #perClient = new PerClientCounts();
  #closing: Promise<void> | null = null;

  constructor(opts: IngestRegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'ingest' });
  }

  /**
   * Negotiates a publish. Throws an AppError: `unavailable` while draining, over the
   * session cap or closing; `too_many_requests` when the client holds its share of
   * sessions already; `validation_failed` for an unknown preset; `bad_request` /
   * `unprocessable` for an offer ingest cannot take; `conflict` when the stream is live
   * and TAKEOVER=reject. Nothing changes unless it succeeds.
   */
  async publish(req: PublishRequest): Promise<WhipSession> {
    const { streamId } = req;
    if (this.#opts.draining?.()) {
      throw new AppError(
        'unavailable',
        'this instance is shutting down: publish again (to another instance)',
      );
    }
    const cannotQueue = (await this.#opts.canQueue?.()) ?? null;
    if (cannotQueue !== null) {
      throw new AppError(
        'unavailable',
        `cannot queue this stream's transcode now (Redis: ${cannotQueue}): publish again shortly`,
      );
    }
    if (req.presetId && this.#opts.presetExists && !(await this.#opts.presetExists(req.presetId))) {
      throw new AppError('validation_failed', `unknown preset ${req.presetId}`, { field: 'preset' });
    }
    const offer = negotiateOffer(req.offer);
    if (this.#closing) throw new AppError('unavailable', 'ingest is shutting down');
    const perClient = this.#opts.maxSessionsPerClient ?? 16;
    if (this.#perClient.of(req.client) >= perClient) {
      throw new AppError(
        'too_many_requests',
        `this client holds ${perClient} publish sessions, the most one client may (MAX_PUBLISHES_PER_CLIENT); end one first`,
      );
    }
    const slot = this.#opts.streams.reserve(streamId);
    if (this.#sessions.size + this.#negotiating >= (this.#opts.maxSessions ?? 64)) {
      slot.cancel();
      throw new AppError('unavailable', 'too many publish sessions; try again later');
    }
    this.#perClient.take(req.client, perClient);
    let counted = true;
    const uncount = () => {
      if (counted) this.#perClient.release(req.client);
      counted = false;
    };
    this.#negotiating++;
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
    } catch (e) {
      slot.cancel();
      uncount();
      throw e;
    } finally {
      this.#negotiating--;
    }
    if (this.#closing) {
      slot.cancel();
      uncount();
      await session.close('shutdown');
      throw new AppError('unavailable', 'ingest is shutting down');
    }
    // A session that ended while it was negotiated hears no end any more.
    if (session.ended) uncount();
    else session.onEnd(uncount);
    this.#sessions.add(session, (l) => session.onEnd(l));
    slot.publish(session, req.presetId);
    return session;
  }

  /** The session behind a WHIP session URL, if it is still running. */
  session(streamId: string, sessionId: string): WhipSession | null {
    return this.#sessions.get(streamId, sessionId);
  }

  /** DELETE: ends the session; false when there is no such running session. */
  end(streamId: string, sessionId: string): Promise<boolean> {
    return this.#sessions.end(streamId, sessionId);
  }

  /** Publish sessions running now. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Ends every session (reason `shutdown`); idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = Promise.allSettled(this.#sessions.values().map((s) => s.close('shutdown'))).then(
        () => undefined,
      );
    }
    return this.#closing;
  }
}

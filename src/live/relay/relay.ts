import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import type { Logger } from '../../core/log.js';
import type { LiveStream } from '../stream.js';
import type { Readable } from 'node:stream';
import { RelayBody, type RelayBodyMeta } from './body.js';

export type { RelayBodyLayer, RelayBodyMeta } from './body.js';

/** What the relay route (src/api/routes/relay.ts) needs of the relay. */
export interface RelayApi {
  /**
   * Throws AppError `not_found` when the stream has no current session, then
   * `unauthorized` when `token` does not open it.
   */
  open(streamId: string, token: string | null, o?: RelayOpenOptions): RelayBodyHandle;
}

export interface RelayOpenOptions {
  /**
   * Passthrough: every simulcast layer (or the one encoding) as its own track, from key
   * frames aligned across the layers; `ready` rejects `conflict` with the reason when the
   * layers cannot be passed through (not aligned, not H.264).
   */
  layers?: boolean;
}

export interface RelayBodyHandle {
  readonly body: Readable;
  /**
   * Resolves at the body's first key frame; rejects `not_found` if the stream ends first,
   * `conflict` when a passthrough body cannot be made.
   */
  readonly ready: Promise<RelayBodyMeta>;
  close(): void;
}

export interface MediaRelayOptions {
  /** The live streams of this process. */
  streams: { get(streamId: string): LiveStream | null };
  log: Logger;
  /**
   * Bytes a body may queue for a consumer that reads slower than the stream arrives
   * before it drops frames up to the next key frame. @defaultValue 2 MiB (about 3 s of 5 Mb/s)
   */
  maxBufferedBytes?: number;
  /** How often a body waiting for a key frame asks the publisher again, ms. @defaultValue 1000 */
  keyframeRetryMs?: number;
}

/** Shortest token authorize() takes: relay tokens are random, never typed by a person. */
const MIN_TOKEN_LENGTH = 16;
/** Tokens kept per stream; authorizing more drops the oldest. */
const MAX_TOKENS_PER_STREAM = 16;

/**
 * The relay (ARCHITECTURE.md): each live stream's received media, as one ordered
 * Matroska byte stream per request, for workers anywhere to read over HTTP. Access is by
 * a per-stream bearer token that whoever queues the live job sets with authorize().
 * The HTTP side is src/api/routes/relay.ts.
 */
export class MediaRelay implements RelayApi {
  readonly #o: Required<MediaRelayOptions>;
  readonly #log: Logger;
  /** sha256 of each stream's tokens, oldest first: compared in constant time, never kept in clear. */
  readonly #tokens = new Map<string, Buffer[]>();
  readonly #bodies = new Set<RelayBody>();
  #closed = false;

  constructor(o: MediaRelayOptions) {
    this.#o = { maxBufferedBytes: 2 * 1024 * 1024, keyframeRetryMs: 1000, ...o };
    this.#log = o.log.child({ component: 'relay' });
  }

  /**
   * Lets `token` open `streamId`'s relay, next to the tokens already given for it: a
   * running live job keeps its token when the stream is published again (a takeover)
   * and a new token is authorized for the job that enqueueLive then finds running.
   * Reusing one token per stream is simplest; at most 16 are kept (oldest dropped).
   */
  authorize(streamId: string, token: string): void {
    if (!isStreamId(streamId))
      throw new AppError('validation_failed', `bad stream id ${JSON.stringify(streamId)}`);
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new AppError(
        'validation_failed',
        `a relay token needs ${MIN_TOKEN_LENGTH}+ non-space characters`,
      );
    }
    const d = digest(token);
    const list = (this.#tokens.get(streamId) ?? []).filter((t) => !t.equals(d));
    list.push(d);
    this.#tokens.set(streamId, list.slice(-MAX_TOKENS_PER_STREAM));
  }

  /**
   * Forgets every token of `streamId`. Only once no live job of the stream runs: a job
   * whose token is gone fails (401) instead of ending the playlists.
   */
  revoke(streamId: string): void {
    this.#tokens.delete(streamId);
  }

  /** Whether `token` opens `streamId` (false for a stream nobody authorized). Constant-time per token. */
  verify(streamId: string, token: string): boolean {
    const presented = digest(token);
    const known = this.#tokens.get(streamId) ?? [];
    let ok = false;
    // Every entry is compared, so timing tells nothing about which one matched.
    for (const t of known) ok = timingSafeEqual(presented, t) || ok;
    return ok;
  }

  /**
   * A body for the stream's current session, for a bearer of one of its tokens.
   * Throws `not_found` when the stream has no current session (whether it is live is
   * public: GET /api/streams), then `unauthorized` for a missing or wrong token. The
   * body's `ready` may still reject with `not_found` if the session ends before its
   * first key frame and nothing took over.
   */
  open(streamId: string, token: string | null, o: RelayOpenOptions = {}): RelayBody {
    if (this.#closed) throw new AppError('unavailable', 'the relay is shutting down');
    const stream = this.#o.streams.get(streamId);
    if (stream === null || stream.ended) throw new AppError('not_found', `stream ${streamId} is not live`);
    if (token === null || !this.verify(streamId, token)) {
      throw new AppError('unauthorized', 'a valid relay token is required');
    }
    const body: RelayBody = new RelayBody({
      streamId,
      stream,
      log: this.#log.child({ streamId }),
      maxBufferedBytes: this.#o.maxBufferedBytes,
      keyframeRetryMs: this.#o.keyframeRetryMs,
      layers: o.layers === true,
      onClose: () => this.#bodies.delete(body),
    });
    this.#bodies.add(body);
    return body;
  }

  /** Bodies being sent now. */
  get openBodies(): number {
    return this.#bodies.size;
  }

  /** Ends every body (their readers see the connection drop) and refuses new ones. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    for (const body of [...this.#bodies]) body.close();
    return Promise.resolve();
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

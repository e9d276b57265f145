import { OBJECT_NAME } from './names.js';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { isStreamId } from '../core/ids.js';
import type { Logger } from '../core/log.js';
import { closeRedis, withTimeout } from '../core/redis.js';
import { liveRenditionStateSchema, type LiveRenditionState } from './live-state.js';

/**
 * How the live packager (in a worker process) tells origins (in API processes) that a
 * part was published: one message per rendition change, on Redis pub/sub, carrying the
 * rendition's whole playlist state (a few KB) so an origin renders any form of the
 * playlist from memory and wakes blocked requests at once. Playlists are also written
 * to storage, so nothing is lost when a message is: the next one carries everything.
 */

export interface LivePublishedPart {
  msn: number;
  part: number;
  uri: string;
}

export interface LiveEvent {
  v: 1;
  streamId: string;
  rendition: string;
  state: LiveRenditionState;
  /** The part this change published; null for a segment closed at the end of a run, or the end. */
  part: LivePublishedPart | null;
  /** When the packager published it, epoch ms (for latency figures). */
  at: number;
}

export type LiveListener = (e: LiveEvent) => void;

export interface LiveBus {
  /** Sends an event to every subscriber in every process; resolves once handed to the transport. */
  publish(e: LiveEvent): Promise<void>;
  /** Receives every stream's events; returns the unsubscribe function. */
  subscribe(listener: LiveListener): () => void;
  /** Resolves once subscribers receive what is published from now on (Redis: the subscription is active). */
  ready(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

const eventSchema = z.object({
  v: z.literal(1),
  streamId: z.string().refine(isStreamId),
  rendition: z.string(),
  state: liveRenditionStateSchema,
  part: z
    .object({
      msn: z.number().int().nonnegative(),
      part: z.number().int().nonnegative(),
      uri: z.string().regex(OBJECT_NAME),
    })
    .nullable(),
  at: z.number().nonnegative(),
});

/** Messages come from another process: anything malformed is dropped, never rendered. */
export function parseLiveEvent(text: string): LiveEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const r = eventSchema.safeParse(json);
  if (!r.success || r.data.rendition !== r.data.state.rendition) return null;
  return r.data as LiveEvent;
}

/** The Redis channel of one stream's events. */
export function liveChannel(prefix: string, streamId: string): string {
  return `${prefix}:live:${streamId}`;
}

function safeCall(listener: LiveListener, e: LiveEvent, log: Logger | undefined): void {
  try {
    listener(e);
  } catch (err) {
    log?.error({ err }, 'live event listener threw');
  }
}

/**
 * In one process (`npm start`, tests): the same contract without Redis. Events are
 * serialized and parsed like Redis messages and delivered on a later tick, so code that
 * works here does not depend on sharing objects or on synchronous delivery.
 */
export class MemoryLiveBus implements LiveBus {
  readonly #emitter = new EventEmitter();
  readonly #log: Logger | undefined;
  #closed = false;

  constructor(o: { log?: Logger } = {}) {
    this.#log = o.log;
    this.#emitter.setMaxListeners(0);
  }

  async publish(e: LiveEvent): Promise<void> {
    if (this.#closed) return;
    const text = JSON.stringify(e);
    setImmediate(() => {
      const parsed = parseLiveEvent(text);
      if (!parsed) {
        this.#log?.error({ streamId: e.streamId, rendition: e.rendition }, 'dropped an invalid live event');
        return;
      }
      for (const l of this.#emitter.listeners('event') as LiveListener[]) safeCall(l, parsed, this.#log);
    });
  }

  subscribe(listener: LiveListener): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
    this.#emitter.removeAllListeners();
  }
}

export interface RedisLiveBusOptions {
  url: string;
  /** Channel prefix (QUEUE_PREFIX), so deployments sharing a Redis do not hear each other. */
  prefix: string;
  log?: Logger;
  /** CLIENT SETNAME of the connections. @defaultValue `whipcast-live-{pid}` */
  connectionName?: string;
  /** A publish that Redis has not taken after this long is given up. @defaultValue 2000 */
  publishTimeoutMs?: number;
}

/**
 * Redis pub/sub: PUBLISH on one connection (opened on the first publish: a worker
 * process), PSUBSCRIBE `{prefix}:live:*` on another (opened on the first subscribe: an
 * API process). ioredis reconnects and re-subscribes by itself; a publish while Redis is
 * away fails after a retry and is logged, not thrown at the packager.
 */
export class RedisLiveBus implements LiveBus {
  readonly #o: RedisLiveBusOptions;
  readonly #listeners = new Set<LiveListener>();
  #pub: Redis | null = null;
  #sub: Redis | null = null;
  #subscribed: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #lastPublishError = 0;

  constructor(o: RedisLiveBusOptions) {
    this.#o = o;
  }

  async publish(e: LiveEvent): Promise<void> {
    if (this.#closing) return;
    this.#pub ??= this.#connect('pub');
    const channel = liveChannel(this.#o.prefix, e.streamId);
    try {
      await withTimeout(
        this.#pub.publish(channel, JSON.stringify(e)),
        this.#o.publishTimeoutMs ?? 2000,
        'live publish',
      );
    } catch (err) {
      // One line per ten seconds: a Redis outage must not flood the log at the part rate.
      const now = Date.now();
      if (now - this.#lastPublishError > 10_000) {
        this.#lastPublishError = now;
        this.#o.log?.warn(
          { err, streamId: e.streamId },
          'live event not published (players fall back to storage)',
        );
      }
    }
  }

  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    if (!this.#subscribed) {
      this.#subscribed = this.#startSubscriber();
      // Observed through ready(); a close() during the subscribe must not be an unhandled rejection.
      this.#subscribed.catch((err: unknown) => this.#o.log?.debug({ err }, 'live bus subscribe ended'));
    }
    return () => this.#listeners.delete(listener);
  }

  ready(): Promise<void> {
    return this.#subscribed ?? Promise.resolve();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#listeners.clear();
      const conns = [this.#pub, this.#sub].filter((c): c is Redis => c !== null);
      await Promise.allSettled(conns.map((c) => closeRedis(c)));
    })();
    return this.#closing;
  }

  #connect(role: 'pub' | 'sub'): Redis {
    const name = `${this.#o.connectionName ?? `whipcast-live-${process.pid}`}-${role}`;
    const r = new Redis(this.#o.url, {
      connectionName: name,
      // A subscriber waits out outages (it re-subscribes); a publisher fails fast.
      maxRetriesPerRequest: role === 'sub' ? null : 1,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    r.on('error', (err: Error) => this.#o.log?.debug({ err: err.message, role }, 'live bus redis error'));
    return r;
  }

  async #startSubscriber(): Promise<void> {
    const sub = (this.#sub = this.#connect('sub'));
    const prefix = `${this.#o.prefix}:live:`;
    sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
      const e = parseLiveEvent(message);
      if (!e || channel !== prefix + e.streamId) {
        this.#o.log?.warn({ channel }, 'dropped an invalid live event');
        return;
      }
      for (const l of this.#listeners) safeCall(l, e, this.#o.log);
    });
    // Glob characters in the prefix would widen the pattern: escape them.
    await sub.psubscribe(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
  }
}

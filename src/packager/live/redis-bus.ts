import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../core/log.js';
import { closeRedis, withTimeout } from '../../core/redis.js';
import { RedisWatch } from '../../core/redis-watch.js';
import {
  DEFAULT_MAX_ANNOUNCED_PART_BYTES,
  parseLiveEvent,
  safeCall,
  type LiveBus,
  type LiveEvent,
  type LiveListener,
} from './bus.js';

/**
 * Live events between processes over Redis pub/sub. A message is one binary frame:
 *
 *   'W' 1 | sender id length (1 byte) | sender id | JSON length (4 bytes BE) | JSON | part bytes
 *
 * The JSON is the event without its bytes; the part's bytes follow it when they travel
 * (up to maxPartBytes). The sender id lets a process drop its own events, which it
 * already delivered in-process.
 */

const MAGIC = 0x57;
const VERSION = 1;

export function encodeLiveMessage(e: LiveEvent, sender: string, maxPartBytes: number): Buffer {
  const { partBody, ...rest } = e;
  const json = Buffer.from(JSON.stringify(rest));
  const from = Buffer.from(sender);
  const head = Buffer.alloc(3 + from.length + 4);
  head[0] = MAGIC;
  head[1] = VERSION;
  head[2] = from.length;
  from.copy(head, 3);
  head.writeUInt32BE(json.length, 3 + from.length);
  const body = partBody && partBody.length <= maxPartBytes ? partBody : null;
  return Buffer.concat(body ? [head, json, body] : [head, json]);
}

/** null for anything that is not a well-formed message. */
export function decodeLiveMessage(m: Buffer): { sender: string; event: LiveEvent } | null {
  if (m.length < 7 || m[0] !== MAGIC || m[1] !== VERSION) return null;
  const fromLen = m[2]!;
  if (m.length < 3 + fromLen + 4) return null;
  const sender = m.subarray(3, 3 + fromLen).toString();
  const jsonLen = m.readUInt32BE(3 + fromLen);
  const jsonStart = 3 + fromLen + 4;
  if (m.length < jsonStart + jsonLen) return null;
  const event = parseLiveEvent(m.subarray(jsonStart, jsonStart + jsonLen).toString());
  if (!event) return null;
  const rest = m.subarray(jsonStart + jsonLen);
  // Bytes only for a part this event published.
  if (rest.length > 0) {
    if (!event.part) return null;
    event.partBody = Buffer.from(rest);
  }
  return { sender, event };
}

/** The Redis channel of one stream's events. */
export function liveChannel(prefix: string, streamId: string): string {
  return `${prefix}:live:${streamId}`;
}

/**
 * Every subscribing process also subscribes to this channel (nothing is published on
 * it): PUBSUB NUMSUB on it tells a publisher whether any process besides itself listens.
 * Pattern subscriptions, which carry the events, are not counted by NUMSUB.
 */
export function presenceChannel(prefix: string): string {
  return `${prefix}:live-origins`;
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
  /** Parts up to this size travel with their event. @defaultValue 1 MiB */
  maxPartBytes?: number;
  /** How often a publisher asks how many processes listen, ms. @defaultValue 1000 */
  listenersEveryMs?: number;
}

/**
 * Redis pub/sub: PUBLISH on one connection (opened on the first publish: a worker), and
 * PSUBSCRIBE `{prefix}:live:*` on another (opened on the first subscribe: an API
 * process). A publish is sent only while another process listens (nobody else: `npm
 * start` alone, whose origin hears its packager in-process). ioredis reconnects and
 * re-subscribes by itself; a publish while Redis is away fails after a retry and is
 * logged (once per 10 s), never thrown at the packager.
 */
export class RedisLiveBus implements LiveBus {
  readonly #o: RedisLiveBusOptions;
  readonly #id = randomBytes(6).toString('base64url');
  readonly #listeners = new Set<LiveListener>();
  #pub: Redis | null = null;
  #sub: Redis | null = null;
  #subscribed: Promise<void> | null = null;
  #watch: RedisWatch | null = null;
  /** Processes other than this one that listen; null until first asked (then: assume some do). */
  #others: number | null = null;
  #listenersTimer: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  /** When publishing started failing; null while it works. */
  #publishFailingSince: number | null = null;
  /** Events handed to Redis, and events not sent because no other process listened. */
  readonly stats = { sent: 0, skipped: 0 };

  constructor(o: RedisLiveBusOptions) {
    this.#o = o;
  }

  async publish(e: LiveEvent): Promise<void> {
    if (this.#closing) return;
    if (!this.#pub) {
      this.#pub = this.#connect('pub');
      this.#watchListeners();
    }
    if (this.#others === 0) {
      this.stats.skipped++;
      return;
    }
    const channel = liveChannel(this.#o.prefix, e.streamId);
    try {
      const message = encodeLiveMessage(
        e,
        this.#id,
        this.#o.maxPartBytes ?? DEFAULT_MAX_ANNOUNCED_PART_BYTES,
      );
      this.stats.sent++;
      await withTimeout(
        this.#pub.publish(channel, message),
        this.#o.publishTimeoutMs ?? 2000,
        'live publish',
      );
      if (this.#publishFailingSince !== null) {
        const seconds = ((Date.now() - this.#publishFailingSince) / 1000).toFixed(1);
        this.#publishFailingSince = null;
        this.#o.log?.info(
          { streamId: e.streamId, failedSeconds: Number(seconds) },
          `live events reach other processes again after ${seconds} s`,
        );
      }
    } catch (err) {
      // Once per outage: a Redis away must not flood the log at the part rate.
      if (this.#publishFailingSince === null) {
        this.#publishFailingSince = Date.now();
        this.#o.log?.warn(
          { err, streamId: e.streamId },
          'live events not sent to other processes (their players fall back to storage); the next line says when they are again',
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
      this.#watch?.close();
      if (this.#listenersTimer) clearInterval(this.#listenersTimer);
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

  /** Keeps #others current: PUBSUB NUMSUB of the presence channel, less this process's own subscriber. */
  #watchListeners(): void {
    const ask = async (): Promise<void> => {
      const pub = this.#pub;
      if (!pub || this.#closing) return;
      try {
        const reply = (await withTimeout(
          pub.call('PUBSUB', 'NUMSUB', presenceChannel(this.#o.prefix)),
          this.#o.publishTimeoutMs ?? 2000,
          'live listeners',
        )) as [string, number];
        const mine = this.#sub !== null && this.#sub.status === 'ready' ? 1 : 0;
        this.#others = Math.max(0, Number(reply[1]) - mine);
      } catch {
        // Unknown: keep sending, as a subscriber may be there.
        this.#others = null;
      }
    };
    void ask();
    this.#listenersTimer = setInterval(() => void ask(), this.#o.listenersEveryMs ?? 1000);
    this.#listenersTimer.unref();
  }

  async #startSubscriber(): Promise<void> {
    const sub = (this.#sub = this.#connect('sub'));
    // The subscriber is the connection a listening origin lives by: its outages are told once.
    if (this.#o.log)
      this.#watch = new RedisWatch({ redis: sub, name: 'live bus', log: this.#o.log, pingEveryMs: null });
    const prefix = `${this.#o.prefix}:live:`;
    sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      const m = decodeLiveMessage(message);
      if (!m || channel.toString() !== prefix + m.event.streamId) {
        this.#o.log?.warn({ channel: channel.toString() }, 'dropped an invalid live event');
        return;
      }
      if (m.sender === this.#id) return;
      for (const l of this.#listeners) safeCall(l, m.event, this.#o.log);
    });
    // Glob characters in the prefix would widen the pattern: escape them.
    await sub.psubscribe(`${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`);
    await sub.subscribe(presenceChannel(this.#o.prefix));
  }
}

import type { Redis } from 'ioredis';
import type { Logger } from './log.js';
import { withTimeout } from './redis.js';

/** Whether a Redis answers, and since when it has not. */
export interface RedisState {
  /** Null while it answers; else why not (`connection refused`, `no answer to PING within 1 s`). */
  readonly down: string | null;
  /** When it stopped answering (ms since the epoch); null while up. */
  readonly downSince: number | null;
}

export interface RedisWatchOptions {
  redis: Redis;
  /** Which connection this is, in the log lines (`queue`, `worker`, `live bus`). */
  name: string;
  log: Logger;
  /**
   * PING this often, so a Redis that keeps its socket open but answers nothing (SIGSTOP, a
   * full disk's fork) is seen too. Null: only the connection's own events. @defaultValue 1000
   */
  pingEveryMs?: number | null;
}

/**
 * Watches one ioredis connection and says once per change that Redis went away or came
 * back, with how long it was gone: a connection retries every second or two, and a line
 * per retry would bury everything else in the log.
 */
export class RedisWatch implements RedisState {
  readonly #o: RedisWatchOptions;
  #down: string | null = null;
  #downSince: number | null = null;
  /** Known at all: no "came back" before it was ever seen up or down. */
  #seen = false;
  /** When it last came back after being down. */
  #upAt: number | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #pinging = false;
  readonly #listeners = new Set<(state: RedisState) => void>();

  constructor(opts: RedisWatchOptions) {
    this.#o = opts;
    const { redis } = opts;
    redis.on('ready', this.#onReady);
    redis.on('error', this.#onError);
    redis.on('close', this.#onClose);
    if (redis.status === 'ready') this.#up();
    const every = opts.pingEveryMs === undefined ? 1000 : opts.pingEveryMs;
    if (every !== null) {
      this.#timer = setInterval(() => void this.#ping(Math.max(every, 500)), every);
      this.#timer.unref();
    }
  }

  get down(): string | null {
    return this.#down;
  }

  get downSince(): number | null {
    return this.#downSince;
  }

  /** Whether it is down now or came back less than `ms` ago. */
  recentlyDown(ms: number): boolean {
    return this.#down !== null || (this.#upAt !== null && Date.now() - this.#upAt < ms);
  }

  /** Hears every change of state. */
  onChange(fn: (state: RedisState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const { redis } = this.#o;
    redis.off('ready', this.#onReady);
    redis.off('error', this.#onError);
    redis.off('close', this.#onClose);
    this.#listeners.clear();
  }

  readonly #onReady = (): void => this.#up();
  readonly #onError = (err: Error): void => this.#goDown(describe(err));
  // Closed without an error first: the server went away (or QUIT; close() ends watching first).
  readonly #onClose = (): void => this.#goDown('connection closed');

  async #ping(timeoutMs: number): Promise<void> {
    const { redis } = this.#o;
    // A connection that is not ready says so by its own events.
    if (this.#pinging || redis.status !== 'ready') return;
    this.#pinging = true;
    try {
      await withTimeout(redis.ping(), timeoutMs, 'ping');
      this.#up();
    } catch {
      if (redis.status === 'ready') this.#goDown(`no answer to PING within ${timeoutMs / 1000} s`);
    } finally {
      this.#pinging = false;
    }
  }

  #up(): void {
    const wasDown = this.#down !== null;
    const since = this.#downSince;
    const first = !this.#seen;
    this.#seen = true;
    if (!wasDown && !first) return;
    this.#down = null;
    this.#downSince = null;
    if (wasDown) this.#upAt = Date.now();
    if (wasDown && since !== null) {
      const seconds = ((Date.now() - since) / 1000).toFixed(1);
      this.#o.log.info(
        { redis: this.#o.name, downSeconds: Number(seconds) },
        `Redis answers again after ${seconds} s`,
      );
    }
    this.#emit();
  }

  #goDown(reason: string): void {
    this.#seen = true;
    if (this.#down !== null) {
      // Still down: keep the first reason's time, note a better reason quietly.
      this.#down = reason;
      return;
    }
    this.#down = reason;
    this.#downSince = Date.now();
    this.#o.log.warn(
      { redis: this.#o.name, reason },
      `Redis unreachable (${reason}): retrying; the next line says when it answers again`,
    );
    this.#emit();
  }

  #emit(): void {
    for (const fn of this.#listeners) fn(this);
  }
}

/** A connection error in words a reader of the log knows (ioredis gives errno names). */
function describe(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'connect timed out';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      return err.message;
  }
}

/** Whether a BullMQ or ioredis error only says that Redis cannot be reached (the watch says that once). */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  if (
    e.code &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code)
  )
    return true;
  return /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Command timed out|MaxRetriesPerRequest|Reached the max retries/i.test(
    e.message ?? '',
  );
}

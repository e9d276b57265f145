import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { AppError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { packageRoot } from '../core/paths.js';
import { withTimeout } from '../core/redis.js';
import type { WorkerInfo, WorkerJob } from '../core/workers.js';

/** What the API needs of the worker registry (WorkerDirectory implements it). */
export interface WorkersApi {
  /** Live workers, by id. `unavailable` when Redis does not answer. */
  list(): Promise<WorkerInfo[]>;
}

/**
 * Redis layout: one key per worker holding its WorkerInfo as JSON, with a TTL a few
 * heartbeats long, and a set indexing the ids (readers drop ids whose key expired).
 */
export function workersIndexKey(prefix: string): string {
  return `${prefix}:workers`;
}
export function workerKey(prefix: string, id: string): string {
  return `${prefix}:worker:${id}`;
}

/** Heartbeat period. @defaultValue 2000 */
export const HEARTBEAT_MS = 2000;
/** A worker missing this long (three heartbeats) is gone from GET /api/workers. @defaultValue 6000 */
export const HEARTBEAT_TTL_MS = 6000;
/** No registry call may hold up a heartbeat, a close or an HTTP request longer than this. */
const REDIS_DEADLINE_MS = 1000;

export interface WorkerRegistryOptions {
  /** The worker role's own connection (it waits out Redis outages; each call here is bounded). */
  connection: Redis;
  prefix: string;
  /** What does not change while the worker runs. */
  info: Omit<WorkerInfo, 'jobs' | 'load' | 'lastSeenAt' | 'version'>;
  /** The jobs it runs right now, read at each heartbeat. */
  jobs: () => WorkerJob[];
  /** os.loadavg()[0] and the CPU count, read at each heartbeat. */
  load: () => WorkerInfo['load'];
  log: Logger;
  intervalMs?: number;
  ttlMs?: number;
}

/**
 * The writer: announces one worker in Redis every HEARTBEAT_MS with a TTL, so any API
 * process can list the workers of the deployment; close() removes the entry at once.
 */
export class WorkerRegistry {
  readonly #opts: WorkerRegistryOptions;
  readonly #version = packageVersion();
  #timer: NodeJS.Timeout | null = null;
  #pending: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #warned = false;

  constructor(opts: WorkerRegistryOptions) {
    this.#opts = opts;
  }

  /** First heartbeat now, then every intervalMs. */
  start(): void {
    if (this.#timer || this.#closing) return;
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#opts.intervalMs ?? HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** One heartbeat; skipped while the previous one is still on its way (Redis down or slow). */
  beat(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    this.#pending ??= this.#write().finally(() => {
      this.#pending = null;
    });
    return this.#pending;
  }

  async #write(): Promise<void> {
    const { connection, prefix, info, log } = this.#opts;
    const entry: WorkerInfo = {
      ...info,
      jobs: this.#opts.jobs(),
      load: this.#opts.load(),
      lastSeenAt: new Date().toISOString(),
      version: this.#version,
    };
    try {
      await withTimeout(
        connection
          .multi()
          .set(workerKey(prefix, info.id), JSON.stringify(entry), 'PX', this.#opts.ttlMs ?? HEARTBEAT_TTL_MS)
          .sadd(workersIndexKey(prefix), info.id)
          .exec(),
        REDIS_DEADLINE_MS,
        'worker heartbeat',
      );
      this.#warned = false;
    } catch (e) {
      // Once per outage: the queue's own errors say the rest.
      if (!this.#warned) log.warn({ err: errorMessage(e) }, 'worker heartbeat failed');
      this.#warned = true;
    }
  }

  /** Stops the heartbeat and removes the entry. Idempotent; never throws. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
      const { connection, prefix, info } = this.#opts;
      try {
        await withTimeout(
          (async () => {
            await this.#pending;
            await connection
              .multi()
              .del(workerKey(prefix, info.id))
              .srem(workersIndexKey(prefix), info.id)
              .exec();
          })(),
          REDIS_DEADLINE_MS,
          'worker deregistration',
        );
      } catch (e) {
        // The TTL removes it soon enough.
        this.#opts.log.warn({ err: errorMessage(e) }, 'could not remove the worker registry entry');
      }
    })();
    return this.#closing;
  }
}

/** The reader the API uses: the workers whose heartbeat has not expired. */
export class WorkerDirectory implements WorkersApi {
  readonly #connection: Redis;
  readonly #prefix: string;

  /** @param connection A fail-fast connection (apiRedis). */
  constructor(opts: { connection: Redis; prefix: string }) {
    this.#connection = opts.connection;
    this.#prefix = opts.prefix;
  }

  async list(): Promise<WorkerInfo[]> {
    try {
      return await withTimeout(this.#list(), REDIS_DEADLINE_MS, 'list workers');
    } catch (e) {
      throw new AppError('unavailable', `the worker registry is unavailable (${errorMessage(e)})`, {
        cause: e,
      });
    }
  }

  async #list(): Promise<WorkerInfo[]> {
    const index = workersIndexKey(this.#prefix);
    const ids = (await this.#connection.smembers(index)).sort();
    if (ids.length === 0) return [];
    const values = await this.#connection.mget(ids.map((id) => workerKey(this.#prefix, id)));
    const workers: WorkerInfo[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const raw = values[i];
      const info = raw ? parseInfo(raw) : null;
      if (info) workers.push(info);
      else gone.push(id);
    });
    // Expired (a worker that died): tidy the index. Harmless if it races a heartbeat, which re-adds.
    if (gone.length > 0) await this.#connection.srem(index, ...gone);
    return workers;
  }
}

function parseInfo(raw: string): WorkerInfo | null {
  try {
    const v = JSON.parse(raw) as unknown;
    return typeof v === 'object' && v !== null && typeof (v as WorkerInfo).id === 'string'
      ? (v as WorkerInfo)
      : null;
  } catch {
    return null;
  }
}

let version: string | undefined;

/** whipcast's version from package.json, read once. */
function packageVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
        version?: unknown;
      };
      version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}

import { Redis, type RedisOptions } from 'ioredis';

/**
 * Worker connections wait out a Redis outage (BullMQ requires maxRetriesPerRequest: null
 * for blocking commands); the API's connections fail fast, so an enqueue while Redis is
 * down answers 503 within a second instead of hanging the HTTP request.
 */
export function workerRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name });
}

export const API_REDIS_OPTIONS: RedisOptions = {
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  connectTimeout: 1000,
  commandTimeout: 1000,
  retryStrategy: (times) => Math.min(times * 200, 2000),
};

export function apiRedis(url: string, name: string): Redis {
  return new Redis(url, { ...API_REDIS_OPTIONS, connectionName: name });
}

/** Rejects after `ms` so a stuck Redis call becomes a 503, not a hung request. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
        // A bound on a wait is never a reason for the process to stay.
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves true once a connection is ready, false after `ms`. A fail-fast connection
 * (no offline queue) rejects every command until then, so the API waits for it before
 * it starts answering /readyz and enqueues.
 */
export function whenReady(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    redis.on('ready', onReady);
  });
}

/**
 * QUIT when Redis answers, else drop the socket: a plain quit() on a connection whose
 * server is gone waits in the offline queue forever and would hang shutdown.
 */
export async function closeRedis(redis: Redis, ms = 1000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await withTimeout(redis.quit(), ms, 'redis quit');
      return;
    } catch {
      // fall through: force it
    }
  }
  redis.disconnect(false);
}

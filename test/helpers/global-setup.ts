import { PrivateRedis } from '../../src/core/redis-server.js';

/**
 * Tests talk to a real Redis: REDIS_URL when set, else a private redis-server on a
 * free port, started here and stopped in global-teardown.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) return;
  const redis = await PrivateRedis.start();
  process.env.REDIS_URL = redis.url;
  (globalThis as { __whipcastRedis?: PrivateRedis }).__whipcastRedis = redis;
}

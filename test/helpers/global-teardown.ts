import type { PrivateRedis } from '../../src/core/redis-server.js';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __whipcastRedis?: PrivateRedis }).__whipcastRedis?.close();
}

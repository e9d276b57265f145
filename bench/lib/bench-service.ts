import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PrivateRedis } from '../../src/core/redis-server.js';
import { ServiceProcess } from '../../test/helpers/service-process.js';

/**
 * The service as the benchmarks run it: its own process on a free port, its data in
 * `dir`, x264 only, warnings only (BENCH_LOG_LEVEL to see more); `env` adds or overrides.
 */
export function startBenchService(
  dir: string,
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<ServiceProcess> {
  return ServiceProcess.start({
    env: {
      REDIS_URL: redisUrl,
      PORT: '0',
      DATA_DIR: path.join(dir, 'data'),
      MEDIA_DIR: path.join(dir, 'media'),
      HWACCEL: 'none',
      QUEUE_PREFIX: 'bench',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      ...env,
    },
    waitFor: /listening on/,
  });
}

/** Resolves once the stream's Multivariant Playlist answers (its ladder is live), within 30 s. */
export async function waitForLadder(base: string, stream: string): Promise<void> {
  for (let i = 0; (await fetch(`${base}/hls/${stream}/index.m3u8`)).status !== 200; i++) {
    if (i > 300) throw new Error('the ladder never appeared');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What most benchmarks stand on: a private Redis, the service on it (startBenchService) and
 * a temporary folder for its data; close() ends all three, and is idempotent.
 */
export interface BenchRig {
  base: string;
  close: () => Promise<void>;
}

export async function startBenchRig(env: Record<string, string> = {}): Promise<BenchRig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-'));
  let redis: PrivateRedis | null = null;
  let service: ServiceProcess | null = null;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await service?.close();
      await redis?.close();
      rmSync(dir, { recursive: true, force: true });
    })());
  try {
    redis = await PrivateRedis.start();
    service = await startBenchService(dir, redis.url, env);
  } catch (e) {
    await close();
    throw e;
  }
  return { base: service.url, close };
}

/** The machine's load averages (1, 5, 15 min), for a bench's header and footer. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
}

import path from 'node:path';
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

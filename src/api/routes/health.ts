import { Router } from 'express';
import type { Capabilities } from '../../core/capabilities.js';

export interface HealthDeps {
  capabilities: () => Capabilities;
  redisReady: () => Promise<boolean>;
  /** Shutting down: not ready, so a load balancer stops sending new work here. */
  draining: () => boolean;
}

export function healthRouter(deps: HealthDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const caps = deps.capabilities();
    const redis = await deps.redisReady();
    const ffmpeg = caps.ffmpegVersion !== null && caps.families.length > 0;
    const draining = deps.draining();
    const ready = redis && ffmpeg && !draining;
    res.status(ready ? 200 : 503).json({
      status: draining ? 'shutting down' : ready ? 'ready' : 'not ready',
      checks: {
        redis: redis ? 'ok' : 'unreachable',
        ffmpeg: ffmpeg
          ? 'ok'
          : caps.ffmpegVersion === null
            ? `not runnable at ${caps.ffmpegPath}`
            : 'no usable encoder',
      },
    });
  });
  return r;
}

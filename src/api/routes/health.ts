import { Router } from 'express';
import { z } from 'zod';
import type { Capabilities } from '../../core/capabilities.js';

/** GET /healthz answers this. */
export const HealthSchema = z.object({
  status: z.enum(['ok', 'failing']),
  reason: z
    .string()
    .optional()
    .describe('Why the process cannot recover by itself (`failing` only): restart it.'),
});

/** GET /readyz answers this, with 200 when ready and 503 otherwise. */
export const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not ready', 'shutting down']),
  checks: z.object({
    redis: z.string().describe('`ok` or why not.'),
    ffmpeg: z.string().describe('`ok` or why not.'),
  }),
});

export interface HealthDeps {
  capabilities: () => Capabilities;
  /** Null when the queue Redis answers; else why not. */
  redisDown: () => Promise<string | null>;
  /**
   * Why this process cannot get back to work by itself (its private redis-server could not
   * be restarted); null otherwise. Only this fails /healthz: an outage it rides out does not.
   */
  lost?: () => string | null;
  /** Shutting down: not ready, so a load balancer stops sending new work here. */
  draining: () => boolean;
}

export function healthRouter(deps: HealthDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    const reason = deps.lost?.() ?? null;
    if (reason !== null) {
      res.status(503).json({ status: 'failing', reason } satisfies z.infer<typeof HealthSchema>);
      return;
    }
    res.json({ status: 'ok' } satisfies z.infer<typeof HealthSchema>);
  });
  r.get('/readyz', async (_req, res) => {
    const caps = deps.capabilities();
    const redisDown = await deps.redisDown();
    const redis = redisDown === null;
    const ffmpeg = caps.ffmpegVersion !== null && caps.families.length > 0;
    const draining = deps.draining();
    const ready = redis && ffmpeg && !draining;
    const body: z.infer<typeof ReadinessSchema> = {
      status: draining ? 'shutting down' : ready ? 'ready' : 'not ready',
      checks: {
        redis: redis ? 'ok' : `unreachable: ${redisDown}`,
        ffmpeg: ffmpeg
          ? 'ok'
          : caps.ffmpegVersion === null
            ? `not runnable at ${caps.ffmpegPath}`
            : 'no usable encoder',
      },
    };
    res.status(ready ? 200 : 503).json(body);
  });
  return r;
}

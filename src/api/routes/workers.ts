import { Router } from 'express';
import { z } from 'zod';
import { WorkerInfoSchema } from '../../core/workers.js';
import type { WorkersApi } from '../../workers/index.js';

/** GET /api/workers answers this. */
export const WorkerListSchema = z.object({ workers: z.array(WorkerInfoSchema) });
export type WorkerList = z.infer<typeof WorkerListSchema>;

/** GET /api/workers: the worker processes whose registry heartbeat is current. */
export function workersRouter(deps: { workers: WorkersApi | null }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json({ workers: deps.workers ? await deps.workers.list() : [] } satisfies WorkerList);
  });
  return r;
}

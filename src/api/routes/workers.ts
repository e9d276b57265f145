import { Router } from 'express';
import type { WorkersApi } from '../../core/workers.js';

/** GET /api/workers: the worker processes whose registry heartbeat is current. */
export function workersRouter(deps: { workers: WorkersApi | null }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json({ workers: deps.workers ? await deps.workers.list() : [] });
  });
  return r;
}

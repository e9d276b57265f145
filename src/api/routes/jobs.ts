import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { param } from '../params.js';
import { JobViewSchema } from '../../core/jobs.js';
import type { JobsApi } from '../../workers/index.js';

/** GET /api/jobs answers this. */
export const JobListSchema = z.object({ jobs: z.array(JobViewSchema) });
export type JobList = z.infer<typeof JobListSchema>;

export function jobsRouter(deps: { jobs: JobsApi; requireApiToken: RequestHandler }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json({ jobs: await deps.jobs.list() } satisfies JobList);
  });
  r.get('/:id', async (req, res) => {
    res.json(await deps.jobs.get(param(req, 'id')));
  });
  /** Cancel: a queued job is removed at once; a running one is aborted by its worker (202). */
  r.delete('/:id', deps.requireApiToken, async (req, res) => {
    const view = await deps.jobs.cancel(param(req, 'id'));
    res.status(view.state === 'cancelled' ? 200 : 202).json(view);
  });
  return r;
}

import { Router } from 'express';
import { z } from 'zod';
import { param } from '../params.js';
import { AppError } from '../../core/errors.js';
import { StreamViewSchema, type StreamsApi } from '../../core/streams.js';

/** GET /api/streams answers this. */
export const StreamListSchema = z.object({ streams: z.array(StreamViewSchema) });
export type StreamList = z.infer<typeof StreamListSchema>;

export function streamsRouter(deps: { ingest: StreamsApi }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    const streams = await Promise.all(deps.ingest.list().map((v) => deps.ingest.withJob(v)));
    res.json({ streams } satisfies StreamList);
  });
  r.get('/:stream', async (req, res) => {
    const s = deps.ingest.get(param(req, 'stream'));
    if (!s) throw new AppError('not_found', `no live stream ${param(req, 'stream')}`);
    res.json(await deps.ingest.withJob(s));
  });
  return r;
}

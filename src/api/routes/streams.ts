import { Router } from 'express';
import { z } from 'zod';
import { param } from '../params.js';
import { AppError } from '../../core/errors.js';
import { StreamViewSchema } from '../../core/streams.js';
import type { StreamsApi } from '../../live/index.js';

/** GET /api/streams answers this. */
export const StreamListSchema = z.object({ streams: z.array(StreamViewSchema) });
export type StreamList = z.infer<typeof StreamListSchema>;

export function streamsRouter(deps: { streams: StreamsApi }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    const streams = await Promise.all(deps.streams.list().map((v) => deps.streams.withJob(v)));
    res.json({ streams } satisfies StreamList);
  });
  r.get('/:stream', async (req, res) => {
    const s = deps.streams.get(param(req, 'stream'));
    if (!s) throw new AppError('not_found', `no live stream ${param(req, 'stream')}`);
    res.json(await deps.streams.withJob(s));
  });
  return r;
}

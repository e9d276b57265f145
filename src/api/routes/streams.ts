import { Router } from 'express';
import { param } from '../params.js';
import { AppError } from '../../core/errors.js';
import type { StreamsApi } from '../../core/streams.js';

export function streamsRouter(deps: { ingest: StreamsApi }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json({ streams: await Promise.all(deps.ingest.list().map((v) => deps.ingest.withJob(v))) });
  });
  r.get('/:stream', async (req, res) => {
    const s = deps.ingest.get(param(req, 'stream'));
    if (!s) throw new AppError('not_found', `no live stream ${param(req, 'stream')}`);
    res.json(await deps.ingest.withJob(s));
  });
  return r;
}

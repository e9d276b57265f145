import { Router } from 'express';
import { param } from '../params.js';
import { AppError } from '../../core/errors.js';
import type { StreamsApi } from '../../live/index.js';

export function streamsRouter(deps: { streams: StreamsApi }): Router {
  const r = Router();
  r.get('/', async (_req, res) => {
    res.json({ streams: await Promise.all(deps.streams.list().map((v) => deps.streams.withJob(v))) });
  });
  r.get('/:stream', async (req, res) => {
    const s = deps.streams.get(param(req, 'stream'));
    if (!s) throw new AppError('not_found', `no live stream ${param(req, 'stream')}`);
    res.json(await deps.streams.withJob(s));
  });
  return r;
}

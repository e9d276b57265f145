import { Router } from 'express';
import { param } from '../params.js';
import { AppError } from '../../core/errors.js';
import type { IngestApi } from '../../core/streams.js';

export function streamsRouter(deps: { ingest: IngestApi }): Router {
  const r = Router();
  r.get('/', (_req, res) => {
    res.json({ streams: deps.ingest.list() });
  });
  r.get('/:stream', (req, res) => {
    const s = deps.ingest.get(param(req, 'stream'));
    if (!s) throw new AppError('not_found', `no live stream ${param(req, 'stream')}`);
    res.json(s);
  });
  return r;
}

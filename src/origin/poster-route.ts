import type { RequestHandler } from 'express';
import { isStreamId } from '../core/ids.js';
import type { PostersApi } from './live-posters.js';

/** Where createApp registers the route: before the /hls router, which serves a file's stored poster. */
export const LIVE_POSTER_ROUTE = '/hls/:id/poster.jpg';

/**
 * A live poster changes every few seconds: caches (browsers, a CDN) may keep it that
 * long and then revalidate. A file's poster is stored and immutable like its segments.
 */
export const LIVE_POSTER_CACHE = 'public, max-age=5';

export interface LivePosterDeps {
  /** Absent: no live posters here (a file's stored poster is still served by /hls). */
  posters: PostersApi | null;
  /** Whether the id is a live stream now: only those get a poster made. */
  isLive: (id: string) => boolean;
}

/**
 * `GET /hls/{id}/poster.jpg` of a live stream: made on demand from its lowest rung
 * (src/api/posters.ts). Anything else, a file's poster included, falls through to the
 * /hls router untouched.
 */
export function livePosterRoute(deps: LivePosterDeps): RequestHandler {
  return async (req, res, next) => {
    const id = (req.params as { id?: string }).id ?? '';
    if (!deps.posters || !isStreamId(id) || !deps.isLive(id)) return next();
    const poster = await deps.posters.get(id);
    res.setHeader('Access-Control-Allow-Origin', '*');
    if (!poster) {
      res.setHeader('Cache-Control', 'no-store');
      res.status(404).json({ error: { code: 'not_found', message: `stream ${id} has no picture yet` } });
      return;
    }
    res.setHeader('Cache-Control', LIVE_POSTER_CACHE);
    res.setHeader('ETag', poster.etag);
    res.setHeader('Last-Modified', poster.modified.toUTCString());
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === poster.etag)) {
      res.status(304).end();
      return;
    }
    res.type('image/jpeg').send(poster.body);
  };
}

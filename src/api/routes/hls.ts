import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import { isObjectName } from '../../packager/storage/keys.js';
import type { Storage, StoredObject } from '../../packager/storage/storage.js';

const gzipAsync = promisify(gzip);

/** Which streams are live; their playlists change, so caches must revalidate them. */
export interface LiveStreams {
  isLive(streamId: string): boolean;
}

export interface HlsRouterDeps {
  storage: Storage;
  /** Absent: everything served is a finished VOD. */
  live?: LiveStreams;
}

const EXPOSED =
  'Content-Length, Content-Type, Content-Encoding, ETag, Last-Modified, Cache-Control, Age, Date';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** A finished VOD's playlists never change, but index.m3u8 is what a re-run replaces: a short TTL. */
const VOD_PLAYLIST = 'public, max-age=60';
const LIVE_PLAYLIST = 'no-cache';

function isPlaylist(name: string): boolean {
  return name.endsWith('.m3u8');
}

/**
 * Init segments, segments and parts are written once under a name that is never
 * reused, so they are immutable. Live playlists change with every part.
 */
export function cacheControlFor(name: string, live: boolean): string {
  if (!isPlaylist(name)) return IMMUTABLE;
  return live ? LIVE_PLAYLIST : VOD_PLAYLIST;
}

/** Whether `Accept-Encoding` admits gzip (RFC 9110 12.5.3: `q=0` means "not acceptable"). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let star: boolean | undefined;
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const ok = q === undefined || Number(q.slice(2)) > 0;
    if (coding.trim() === 'gzip' || coding.trim() === 'x-gzip') return ok;
    if (coding.trim() === '*') star = ok;
  }
  return star ?? false;
}

function etagOf(body: Buffer, suffix: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}${suffix}"`;
}

/** RFC 9110 13.1.2 (If-None-Match uses the weak comparison) and 13.1.3 (If-Modified-Since). */
function notModified(req: Request, etag: string, modified: Date): boolean {
  const inm = req.get('if-none-match');
  if (inm !== undefined) {
    const bare = etag.replace(/^W\//, '');
    return inm.split(',').some((t) => {
      const v = t.trim();
      return v === '*' || v.replace(/^W\//, '') === bare;
    });
  }
  const ims = req.get('if-modified-since');
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(modified.getTime() / 1000) <= Math.floor(since / 1000);
}

function notFound(res: Response): void {
  const e = new AppError('not_found', 'no such playlist or segment');
  res
    .status(e.status)
    .set('Cache-Control', 'no-store')
    .json({ error: { code: e.code, message: e.message } });
}

const cors: RequestHandler = (req, res, next) => {
  res.set('Access-Control-Allow-Origin', '*');
  res.set('Access-Control-Expose-Headers', EXPOSED);
  if (req.method === 'OPTIONS') {
    res
      .status(204)
      .set({
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'Range, If-None-Match, If-Modified-Since',
        'Access-Control-Max-Age': '86400',
      })
      .end();
    return;
  }
  next();
};

async function send(
  req: Request,
  res: Response,
  obj: StoredObject,
  name: string,
  live: boolean,
): Promise<void> {
  const playlist = isPlaylist(name);
  const gz = playlist && acceptsGzip(req.get('accept-encoding'));
  // A strong ETag names one representation (RFC 9110 8.8.3), so the gzip one differs.
  const etag = etagOf(obj.body, gz ? '-gz' : '');
  res.set({
    'Content-Type': obj.contentType,
    'Cache-Control': cacheControlFor(name, live),
    'Last-Modified': obj.modified.toUTCString(),
    ETag: etag,
  });
  if (playlist) res.set('Vary', 'Accept-Encoding');
  if (notModified(req, etag, obj.modified)) {
    res.status(304).end();
    return;
  }
  const body = gz ? await gzipAsync(obj.body) : obj.body;
  if (gz) res.set('Content-Encoding', 'gzip');
  res.status(200).set('Content-Length', String(body.length));
  // Node drops the body of a HEAD response itself; the headers stay identical to GET's.
  res.end(body);
}

/**
 * The HLS origin: `GET|HEAD /hls/{id}/{name}` straight from storage. `id` and `name`
 * pass the same allow-lists storage keys do, after express has percent-decoded them
 * once, so `..`, encoded or doubly encoded slashes and dots, and backslashes never
 * reach storage; storage itself refuses symlinks and non-files. Every miss is the
 * same 404.
 */
export function hlsRouter(deps: HlsRouterDeps): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(cors);
  router.get('/:id/:name', async (req, res) => {
    const { id, name } = req.params as { id: string; name: string };
    if (!isStreamId(id) || !isObjectName(name)) return notFound(res);
    const obj = await deps.storage.get(`${id}/${name}`);
    if (!obj) return notFound(res);
    await send(req, res, obj, name, deps.live?.isLive(id) ?? false);
  });
  router.use((_req, res) => notFound(res));
  // A URL express cannot decode (`%zz`) names nothing we have: the same 404.
  const decodeFailure: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const status = (err as { status?: unknown } | null)?.status;
    if (err instanceof URIError || status === 400) return notFound(res);
    next(err);
  };
  router.use(decodeFailure);
  return router;
}

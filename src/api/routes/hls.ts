import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import { RENDITION_NAME } from '../../packager/rendition.js';
import { PLAYLIST_TYPE, isObjectName } from '../../packager/storage/keys.js';
import type { Storage, StoredObject } from '../../packager/storage/storage.js';
import { MULTIVARIANT_NAME } from '../../packager/vod-packager.js';
import {
  parsePartName,
  type DeliveryDirectives,
  type LiveOriginApi,
  type LiveStreams,
} from '../live-origin.js';

export type { LiveStreams } from '../live-origin.js';

const gzipAsync = promisify(gzip);

export interface HlsRouterDeps {
  storage: Storage;
  /**
   * Absent: everything served is a finished VOD. A LiveStreams only sets cache policy; a
   * LiveOrigin (src/api/live-origin.ts) also answers live media playlists from memory,
   * with blocking reloads and delta updates, and holds requests for the next part.
   */
  live?: LiveStreams | LiveOriginApi;
}

function liveOrigin(live: HlsRouterDeps['live']): LiveOriginApi | null {
  return live && 'mediaPlaylist' in live ? live : null;
}

const EXPOSED =
  'Content-Length, Content-Type, Content-Encoding, ETag, Last-Modified, Cache-Control, Age, Date';

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** A finished VOD's playlists never change, but index.m3u8 is what a re-run replaces: a short TTL. */
const VOD_PLAYLIST = 'public, max-age=60';
const LIVE_PLAYLIST = 'no-cache';
/** A live index.m3u8 changes only when the ladder does (or bit rates are first measured). */
const LIVE_MULTIVARIANT = 'public, max-age=2';

function isPlaylist(name: string): boolean {
  return name.endsWith('.m3u8');
}

/**
 * Init segments, segments and parts are written once under a name that is never
 * reused, so they are immutable. Live playlists change with every part.
 */
export function cacheControlFor(name: string, live: boolean): string {
  if (!isPlaylist(name)) return IMMUTABLE;
  if (!live) return VOD_PLAYLIST;
  return name === MULTIVARIANT_NAME ? LIVE_MULTIVARIANT : LIVE_PLAYLIST;
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

/** What send() derives from a body, kept as long as the body lives. */
interface BodyInfo {
  hash: string;
  gzip: Promise<Buffer> | null;
}

/**
 * Derived once per body, not per request: the live origin hands every request for the
 * same playlist (thousands of held ones, woken by one event) the same Buffer, and a part
 * served from its memory is the same Buffer every time. Bodies are never mutated.
 */
const bodyInfos = new WeakMap<Buffer, BodyInfo>();

function bodyInfo(body: Buffer): BodyInfo {
  let info = bodyInfos.get(body);
  if (!info) {
    info = { hash: createHash('sha1').update(body).digest('base64url'), gzip: null };
    bodyInfos.set(body, info);
  }
  return info;
}

function etagOf(body: Buffer, suffix: string): string {
  return `"${bodyInfo(body).hash}${suffix}"`;
}

function gzipped(body: Buffer): Promise<Buffer> {
  const info = bodyInfo(body);
  if (!info.gzip) {
    const p = gzipAsync(body);
    info.gzip = p;
    p.catch(() => {
      if (info.gzip === p) info.gzip = null;
    });
  }
  return info.gzip;
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
  const body = gz ? await gzipped(obj.body) : obj.body;
  if (gz) res.set('Content-Encoding', 'gzip');
  res.status(200).set('Content-Length', String(body.length));
  // Node drops the body of a HEAD response itself; the headers stay identical to GET's.
  res.end(body);
}

function badRequest(res: Response, message: string): void {
  const e = new AppError('bad_request', message);
  res
    .status(e.status)
    .set('Cache-Control', 'no-store')
    .json({ error: { code: e.code, message: e.message } });
}

function unavailable(res: Response, message: string): void {
  const e = new AppError('unavailable', message);
  res
    .status(e.status)
    .set({ 'Cache-Control': 'no-store', 'Retry-After': '1' })
    .json({ error: { code: e.code, message: e.message } });
}

/** An AbortSignal that fires when the client goes away before the answer: a held request is dropped. */
function abortOnClose(res: Response): AbortSignal {
  const ac = new AbortController();
  // 'close' follows every response; only one closed before its answer finished aborts
  // (an abort builds a DOMException: thousands at once when held requests are released).
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  return ac.signal;
}

/** `{rendition}.m3u8` of a Media Playlist (not index.m3u8), else null. */
function mediaPlaylistRendition(name: string): string | null {
  if (!isPlaylist(name) || name === MULTIVARIANT_NAME) return null;
  const stem = name.slice(0, -'.m3u8'.length);
  return RENDITION_NAME.test(stem) ? stem : null;
}

/** `{rendition}_{msn}.{part}.m4s`, the part names the live packager writes. */
function partOf(name: string): { rendition: string; msn: number; part: number } | null {
  const p = parsePartName(name);
  return p && RENDITION_NAME.test(p.rendition) ? p : null;
}

const DECIMAL_INTEGER = /^\d{1,15}$/;

/**
 * RFC 8216bis 6.2.5 Delivery Directives. `_HLS_msn` and `_HLS_part` are decimal-integers;
 * 6.2.5.2: "_HLS_part ... The _HLS_part directive MUST be accompanied by an _HLS_msn
 * directive" (so alone it is a 400); `_HLS_skip` is `YES` or `v2`. Any other malformed
 * value is a 400 too; other query parameters (cache busters) are ignored. Returns the
 * error message on failure.
 */
export function parseDirectives(query: unknown): DeliveryDirectives | string {
  const q = (query ?? {}) as Record<string, unknown>;
  const one = (key: string): string | undefined | null => {
    const v = q[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : null;
  };
  const msn = one('_HLS_msn');
  const part = one('_HLS_part');
  const skip = one('_HLS_skip');
  const d: DeliveryDirectives = { skip: false };
  if (msn !== undefined) {
    if (msn === null || !DECIMAL_INTEGER.test(msn)) return '_HLS_msn must be one decimal integer';
    d.msn = Number(msn);
  }
  if (part !== undefined) {
    if (part === null || !DECIMAL_INTEGER.test(part)) return '_HLS_part must be one decimal integer';
    if (d.msn === undefined) return '_HLS_part needs _HLS_msn';
    d.part = Number(part);
  }
  if (skip !== undefined) {
    if (skip !== 'YES' && skip !== 'v2') return '_HLS_skip must be YES or v2';
    d.skip = true;
  }
  return d;
}

/**
 * The HLS origin: `GET|HEAD /hls/{id}/{name}`. `id` and `name` pass the same
 * allow-lists storage keys do, after express has percent-decoded them once, so `..`,
 * encoded or doubly encoded slashes and dots, and backslashes never reach storage;
 * storage itself refuses symlinks and non-files. Every miss is the same 404.
 *
 * With a LiveOrigin, a live rendition's Media Playlist comes from memory: at once, or
 * held until the part `_HLS_msn`/`_HLS_part` name exists (503 when it does not come in
 * time, see blockingTimeoutMs), as a delta update with `_HLS_skip`; and a request for a
 * part that is about to be published (the preload hint) is held until it is (404 if it
 * never comes). Everything else, and every stream the origin does not know as live, is
 * served from storage.
 */
export function hlsRouter(deps: HlsRouterDeps): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(cors);
  const origin = liveOrigin(deps.live);
  router.get('/:id/:name', async (req, res) => {
    const { id, name } = req.params as { id: string; name: string };
    if (!isStreamId(id) || !isObjectName(name)) return notFound(res);
    const rendition = mediaPlaylistRendition(name);
    if (rendition !== null) {
      const d = parseDirectives(req.query);
      if (typeof d === 'string') return badRequest(res, d);
      if (origin) {
        const a = await origin.mediaPlaylist(id, rendition, d, abortOnClose(res));
        switch (a.kind) {
          case 'playlist':
            return send(
              req,
              res,
              { body: a.body, contentType: PLAYLIST_TYPE, modified: a.modified },
              name,
              true,
            );
          case 'too_far':
            return badRequest(res, `_HLS_msn is more than two segments after the last one (${a.lastMsn})`);
          case 'timeout':
            return unavailable(res, 'the requested part did not arrive in time; reload the playlist');
          case 'busy':
            return unavailable(res, 'too many blocked playlist requests; retry shortly');
          case 'aborted':
            return;
          case 'not_live':
            break;
        }
      }
    }
    const live = origin && rendition === null ? partOf(name) : null;
    // A recent part of a live stream comes from the origin's memory; storage otherwise.
    const read = async () => {
      const o = await deps.storage.get(`${id}/${name}`);
      if (o && live) origin!.keepPart?.(id, name, o);
      return o;
    };
    let obj = (live && origin!.cachedPart?.(id, name)) || (await read());
    if (!obj && live) {
      // A preload hint names the next part before it exists: hold the request until it is published.
      const a = await origin!.awaitPart(id, live.rendition, live.msn, live.part, abortOnClose(res));
      if (a === 'aborted') return;
      if (a === 'busy') return unavailable(res, 'too many held requests; retry shortly');
      if (a === 'published') obj = await read();
    }
    if (!obj) return notFound(res);
    // A media playlist without EXT-X-ENDLIST is live even when no origin knows it yet
    // (the API restarted, or no bus): caches must revalidate it.
    const liveNow =
      (deps.live?.isLive(id) ?? false) ||
      (rendition !== null && !obj.body.includes('#EXT-X-ENDLIST') && obj.body.includes('#EXT-X-PART-INF'));
    await send(req, res, obj, name, liveNow);
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

import {
  PLAYLIST_TYPE,
  isObjectName,
  MULTIVARIANT_NAME,
  RENDITION_NAME,
  parsePartName,
  objectKey,
} from '../../packager/names.js';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import type { Storage, StoredObject } from '../../packager/storage/storage.js';
import {
  type DeliveryDirectives,
  type LiveOriginApi,
  type LiveStreams,
  type PartAnswer,
  type PlaylistAnswer,
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
const CORS_HEADERS = ['Access-Control-Allow-Origin', '*', 'Access-Control-Expose-Headers', EXPOSED];

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

/** A response's header block for one body in one form, built once and reused for every request. */
interface Head {
  gz: boolean;
  cacheControl: string;
  contentType: string;
  modifiedMs: number;
  etag: string;
  /** For `writeHead(304, …)`: what a 304 carries (no Content-Encoding, no Content-Length). */
  notModified: string[];
  /** For `writeHead(200, …)`, once the body's length in this form is known. */
  ok: string[] | null;
}

/** What send() derives from a body, kept as long as the body lives. */
interface BodyInfo {
  hash: string;
  gzip: Buffer | Promise<Buffer> | null;
  /** A body is served in one or two forms (identity, gzip), rarely more: a list beats a keyed map. */
  heads: Head[];
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
    info = { hash: createHash('sha1').update(body).digest('base64url'), gzip: null, heads: [] };
    bodyInfos.set(body, info);
  }
  return info;
}

/**
 * Bodies up to this size are gzipped on the event loop: a live playlist (a few KB, in
 * well under 0.1 ms), so that thousands of held requests released by one event are
 * answered in that same turn, without waiting for the thread pool. Larger ones (a long
 * VOD playlist) go to the thread pool. Both give the same bytes (zlib's defaults).
 */
const GZIP_SYNC_MAX_BYTES = 32 * 1024;

/** The gzip form of `body`: a Buffer once known, else a promise of it. */
function gzipped(info: BodyInfo, body: Buffer): Buffer | Promise<Buffer> {
  if (info.gzip) return info.gzip;
  if (body.length <= GZIP_SYNC_MAX_BYTES) {
    info.gzip = gzipSync(body);
    return info.gzip;
  }
  const p = gzipAsync(body).then((z) => {
    if (info.gzip === p) info.gzip = z;
    return z;
  });
  info.gzip = p;
  p.catch(() => {
    if (info.gzip === p) info.gzip = null;
  });
  return p;
}

/**
 * The Content-Type value express's res.set() writes for `type` (it appends a charset to
 * text types through mime-types), computed once per type with express itself, so that a
 * response from the fast lane (no express) carries the same bytes.
 */
const contentTypes = new Map<string, string>();

function contentTypeHeader(type: string): string {
  let v = contentTypes.get(type);
  if (v === undefined) {
    let set = type;
    const probe = { setHeader: (_k: string, value: string) => void (set = value) };
    (express.response.set as (this: unknown, f: string, v: string) => unknown).call(
      probe,
      'Content-Type',
      type,
    );
    v = set;
    if (contentTypes.size < 64) contentTypes.set(type, v);
  }
  return v;
}

function headOf(
  info: BodyInfo,
  gz: boolean,
  cacheControl: string,
  contentType: string,
  modified: Date,
  playlist: boolean,
): Head {
  const modifiedMs = modified.getTime();
  for (const h of info.heads) {
    if (
      h.gz === gz &&
      h.modifiedMs === modifiedMs &&
      h.cacheControl === cacheControl &&
      h.contentType === contentType
    )
      return h;
  }
  // A strong ETag names one representation (RFC 9110 8.8.3), so the gzip one differs.
  const etag = `"${info.hash}${gz ? '-gz' : ''}"`;
  const notModified = [
    ...CORS_HEADERS,
    'Content-Type',
    contentTypeHeader(contentType),
    'Cache-Control',
    cacheControl,
    'Last-Modified',
    modified.toUTCString(),
    'ETag',
    etag,
  ];
  if (playlist) notModified.push('Vary', 'Accept-Encoding');
  const h: Head = { gz, cacheControl, contentType, modifiedMs, etag, notModified, ok: null };
  // Bounded: a body seen under ever new dates (storage re-reads give new Buffers, not this).
  if (info.heads.length < 8) info.heads.push(h);
  return h;
}

function okHead(h: Head, length: number): string[] {
  if (!h.ok) {
    h.ok = h.gz
      ? [...h.notModified, 'Content-Encoding', 'gzip', 'Content-Length', String(length)]
      : [...h.notModified, 'Content-Length', String(length)];
  }
  return h.ok;
}

/** RFC 9110 13.1.2 (If-None-Match uses the weak comparison) and 13.1.3 (If-Modified-Since). */
function notModified(req: IncomingMessage, etag: string, modified: Date): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    const bare = etag.replace(/^W\//, '');
    return inm.split(',').some((t) => {
      const v = t.trim();
      return v === '*' || v.replace(/^W\//, '') === bare;
    });
  }
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && Math.floor(modified.getTime() / 1000) <= Math.floor(since / 1000);
}

/** The last Accept-Encoding seen and its verdict: clients of one kind all send the same. */
let lastAcceptEncoding: string | undefined;
let lastAcceptsGzip = false;

function wantsGzip(header: string | undefined): boolean {
  if (header !== lastAcceptEncoding) {
    lastAcceptsGzip = acceptsGzip(header);
    lastAcceptEncoding = header;
  }
  return lastAcceptsGzip;
}

/** CORS on every answer but a preflight (send() writes them in its header block). */
function setCors(res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED);
}

/**
 * An error answer in the API's JSON shape, written with node's own calls (the fast lane
 * has no express), in the bytes express's res.json() writes.
 */
function answerError(res: ServerResponse, e: AppError, headers: Record<string, string>): void {
  setCors(res);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.statusCode = e.status;
  res.end(body);
}

function notFound(res: ServerResponse): void {
  answerError(res, new AppError('not_found', 'no such playlist or segment'), { 'Cache-Control': 'no-store' });
}

const preflight: RequestHandler = (req, res, next) => {
  if (req.method !== 'OPTIONS') return next();
  setCors(res);
  res
    .status(204)
    .set({
      'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
      'Access-Control-Allow-Headers': 'Range, If-None-Match, If-Modified-Since',
      'Access-Control-Max-Age': '86400',
    })
    .end();
};

/**
 * Answers with `obj`: the header block comes precomputed per body and form (headOf) and
 * goes out with one writeHead(status, array) and end(body), none of express's per-header
 * helpers. Synchronous unless a large body must first be gzipped.
 */
function send(
  req: IncomingMessage,
  res: ServerResponse,
  obj: StoredObject,
  name: string,
  live: boolean,
): void | Promise<void> {
  const playlist = isPlaylist(name);
  const gz = playlist && wantsGzip(req.headers['accept-encoding']);
  const info = bodyInfo(obj.body);
  const h = headOf(info, gz, cacheControlFor(name, live), obj.contentType, obj.modified, playlist);
  if (notModified(req, h.etag, obj.modified)) {
    res.writeHead(304, h.notModified);
    res.end();
    return;
  }
  const body = gz ? gzipped(info, obj.body) : obj.body;
  if (!Buffer.isBuffer(body)) {
    return body.then((b) => {
      // Node drops the body of a HEAD response itself; the headers stay identical to GET's.
      res.writeHead(200, okHead(h, b.length));
      res.end(b);
    });
  }
  res.writeHead(200, okHead(h, body.length));
  res.end(body);
}

function badRequest(res: ServerResponse, message: string): void {
  answerError(res, new AppError('bad_request', message), { 'Cache-Control': 'no-store' });
}

function unavailable(res: ServerResponse, message: string): void {
  answerError(res, new AppError('unavailable', message), { 'Cache-Control': 'no-store', 'Retry-After': '1' });
}

/** LiveOriginApi.holdPart as a promise; 'aborted' when the client goes away first. */
function holdPart(
  origin: LiveOriginApi,
  res: Response,
  id: string,
  p: { rendition: string; msn: number; part: number },
): Promise<PartAnswer> {
  return new Promise((resolve) => {
    const now = origin.holdPart(id, p.rendition, p.msn, p.part, resolve);
    if (typeof now !== 'function') return resolve(now);
    res.on('close', () => {
      if (res.writableFinished) return;
      now();
      resolve('aborted');
    });
  });
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

/** A live playlist answer (from memory) to the HTTP answer. */
function answerPlaylist(
  req: IncomingMessage,
  res: ServerResponse,
  onError: (e: unknown) => void,
  name: string,
  a: Exclude<PlaylistAnswer, { kind: 'not_live' | 'aborted' }>,
): void {
  switch (a.kind) {
    case 'playlist': {
      const obj = { body: a.body, contentType: PLAYLIST_TYPE, modified: a.modified };
      const sent = send(req, res, obj, name, true);
      if (sent) sent.catch(onError);
      return;
    }
    case 'too_far':
      return badRequest(res, `_HLS_msn is more than two segments after the last one (${a.lastMsn})`);
    case 'timeout':
      return unavailable(res, 'the requested part did not arrive in time; reload the playlist');
    case 'busy':
      return unavailable(res, 'too many blocked playlist requests; retry shortly');
  }
}

/**
 * A live Media Playlist (`rendition` set, with its directives `d`) or a part, from the
 * origin's memory: answered now, or held and answered synchronously from the bus event
 * that satisfies it. Returns false, having written nothing, when memory has no answer
 * (not live here, a part not kept), and for an answer that is an error at once unless
 * `errorsToo`.
 */
function fromMemory(
  origin: LiveOriginApi,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  name: string,
  rendition: string | null,
  d: DeliveryDirectives | null,
  o: { onError: (e: unknown) => void; errorsToo: boolean; taken?: () => void },
): boolean {
  if (rendition !== null && d !== null) {
    const now = origin.holdPlaylist(id, rendition, d, (a) => {
      try {
        if (a.kind !== 'not_live' && a.kind !== 'aborted') answerPlaylist(req, res, o.onError, name, a);
      } catch (e) {
        o.onError(e);
      }
    });
    if (typeof now === 'function') {
      o.taken?.();
      // 'close' follows every response; only one closed before its answer drops the hold.
      res.on('close', () => {
        if (!res.writableFinished) now();
      });
      return true;
    }
    if (now.kind === 'not_live' || now.kind === 'aborted') return false;
    if (now.kind !== 'playlist' && !o.errorsToo) return false;
    o.taken?.();
    answerPlaylist(req, res, o.onError, name, now);
    return true;
  }
  const kept = partOf(name) && origin.cachedPart?.(id, name);
  if (!kept) return false;
  o.taken?.();
  const sent = send(req, res, kept, name, false);
  if (sent) sent.catch(o.onError);
  return true;
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
  router.use(preflight);
  const origin = liveOrigin(deps.live);

  /**
   * A media playlist without EXT-X-ENDLIST is live even when no origin knows it yet (the
   * API restarted, or no bus): caches must revalidate it. Only a playlist's Cache-Control
   * depends on it.
   */
  const liveNow = (id: string, name: string, rendition: string | null, obj: StoredObject): boolean =>
    isPlaylist(name) &&
    ((deps.live?.isLive(id) ?? false) ||
      (rendition !== null && !obj.body.includes('#EXT-X-ENDLIST') && obj.body.includes('#EXT-X-PART-INF')));

  /** Everything not answered from the live origin's playlists or part memory. */
  const fromStorage = async (
    req: Request,
    res: Response,
    id: string,
    name: string,
    rendition: string | null,
    live: { rendition: string; msn: number; part: number } | null,
  ): Promise<void> => {
    const read = async () => {
      const o = await deps.storage.get(objectKey(id, name));
      if (o && live) origin!.keepPart?.(id, name, o);
      return o;
    };
    let obj = await read();
    if (!obj && live) {
      // A preload hint names the next part before it exists: hold the request until it is published.
      const a = await holdPart(origin!, res, id, live);
      if (a === 'aborted') return;
      if (a === 'busy') return unavailable(res, 'too many held requests; retry shortly');
      if (a === 'published') obj = await read();
    }
    if (!obj) return notFound(res);
    await send(req, res, obj, name, liveNow(id, name, rendition, obj));
  };

  router.get('/:id/:name', (req, res, next) => {
    const { id, name } = req.params as { id: string; name: string };
    if (!isStreamId(id) || !isObjectName(name)) return notFound(res);
    const rendition = mediaPlaylistRendition(name);
    const d = rendition === null ? null : parseDirectives(req.query);
    if (typeof d === 'string') return badRequest(res, d);
    if (origin && fromMemory(origin, req, res, id, name, rendition, d, { onError: next, errorsToo: true }))
      return;
    const live = origin && rendition === null ? partOf(name) : null;
    return fromStorage(req, res, id, name, rendition, live);
  });
  router.use((_req, res) => notFound(res));
  // A URL express cannot decode (`%zz`) names nothing we have: the same 404.
  const decodeFailure: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const status = (err as { status?: unknown } | null)?.status;
    if (err instanceof URIError || status === 400) return notFound(res);
    // Whatever answers the error carries CORS too, as every answer from here does.
    setCors(res);
    next(err);
  };
  router.use(decodeFailure);
  return router;
}

/** The route label the fast lane's requests are counted under (express's for the same route). */
export const HLS_ROUTE_LABEL = '/hls/:id/:name';

export interface HlsFastLaneDeps {
  live: LiveOriginApi;
  /** Called once for each request the lane takes (metrics). */
  taken?: (req: IncomingMessage, res: ServerResponse) => void;
  /** A failure after the lane took a request (the answer could not be written). */
  onError?: (e: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * The origin's hot path outside express: a live Media Playlist answered or held from the
 * LiveOrigin's memory, and a part from its memory. Thousands of held requests are woken
 * by one event; express re-prototypes every request and response it handles, which makes
 * each node-level call on them about twice as slow (bench/origin: 5,000 held requests
 * released in ~90 ms by node:http on plain objects, ~170 ms once express's prototypes are
 * set). Returns false, having written nothing, for anything else (another method, a name
 * that needs percent-decoding, a malformed directive, a stream this origin does not hold
 * as live, an answer that is an error at once, a part not in memory): express's
 * hlsRouter then answers it exactly as it would have. Both paths share send() and the
 * error writers, so they answer the same bytes.
 */
export function hlsFastLane(deps: HlsFastLaneDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const origin = deps.live;
  const fail =
    deps.onError ??
    ((_e: unknown, _req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '';
    if (!url.startsWith('/hls/')) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url.slice(5) : url.slice(5, q);
    const slash = path.indexOf('/');
    if (slash < 0) return false;
    const id = path.slice(0, slash);
    const name = path.slice(slash + 1);
    // Names that pass the allow-lists as sent have no '%' and no '/': decoding is a no-op.
    if (!isStreamId(id) || !isObjectName(name)) return false;
    const rendition = mediaPlaylistRendition(name);
    const d = rendition === null ? null : parseDirectives(q < 0 ? {} : parseQuery(url.slice(q + 1)));
    if (typeof d === 'string') return false;
    return fromMemory(origin, req, res, id, name, rendition, d, {
      onError: (e) => fail(e, req, res),
      errorsToo: false,
      ...(deps.taken ? { taken: () => deps.taken!(req, res) } : {}),
    });
  };
}

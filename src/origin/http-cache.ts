import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { isImmutableName, isPlaylistName, MULTIVARIANT_NAME } from '../packager/index.js';

/**
 * HTTP caching of what the origin serves: Cache-Control by name, strong ETags, gzip for
 * playlists, conditional requests, and the header blocks built once per body and form.
 */

const gzipAsync = promisify(gzip);

export const EXPOSED_HEADERS =
  'Content-Length, Content-Type, Content-Encoding, ETag, Last-Modified, Cache-Control, Age, Date';
export const CORS_HEADERS = [
  'Access-Control-Allow-Origin',
  '*',
  'Access-Control-Expose-Headers',
  EXPOSED_HEADERS,
];

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** A finished VOD's playlists never change, but index.m3u8 is what a re-run replaces: a short TTL. */
const VOD_PLAYLIST = 'public, max-age=60';
const LIVE_PLAYLIST = 'no-cache';
/** A live index.m3u8 changes only when the ladder does (or bit rates are first measured). */
const LIVE_MULTIVARIANT = 'public, max-age=2';

/**
 * Init segments, segments and parts are written once under a name that is never
 * reused, so they are immutable. Live playlists change with every part.
 */
export function cacheControlFor(name: string, live: boolean): string {
  if (!isPlaylistName(name)) return isImmutableName(name) ? IMMUTABLE : LIVE_PLAYLIST;
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

/**
 * The Content-Type header value for a media type: text types and JSON say their charset
 * (what express's res.type() writes for them, so both paths answer the same bytes);
 * playlists and MP4 are sent as they are named.
 */
export function contentTypeHeader(type: string): string {
  if (type.includes(';')) return type;
  return type.startsWith('text/') || type === 'application/json' ? `${type}; charset=utf-8` : type;
}

/** RFC 9110 13.1.2 (If-None-Match uses the weak comparison) and 13.1.3 (If-Modified-Since). */
export function notModified(req: IncomingMessage, etag: string, modified: Date): boolean {
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

/** A response's header block for one body in one form, built once and reused for every request. */
export interface Head {
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

/** What is derived from a body, kept as long as the body lives. */
interface BodyInfo {
  hash: string;
  gzip: Buffer | Promise<Buffer> | null;
  /** A body is served in one or two forms (identity, gzip), rarely more: a list beats a keyed map. */
  heads: Head[];
}

/**
 * Bodies up to this size are gzipped on the event loop: a live playlist (a few KB, in
 * well under 0.1 ms), so that thousands of held requests released by one event are
 * answered in that same turn, without waiting for the thread pool. Larger ones (a long
 * VOD playlist) go to the thread pool. Both give the same bytes (zlib's defaults).
 */
const GZIP_SYNC_MAX_BYTES = 32 * 1024;

/**
 * Representations of bodies, derived once per body and not per request: the live origin
 * hands every request for the same playlist (thousands of held ones, woken by one event)
 * the same Buffer, and a part served from memory is the same Buffer every time. Bodies
 * are never mutated, so a WeakMap keyed by the Buffer is the whole cache.
 */
export class Representations {
  readonly #bodies = new WeakMap<Buffer, BodyInfo>();
  /** The last Accept-Encoding seen and its verdict: clients of one kind all send the same. */
  #lastAcceptEncoding: string | undefined;
  #lastAcceptsGzip = false;

  wantsGzip(header: string | undefined): boolean {
    if (header !== this.#lastAcceptEncoding) {
      this.#lastAcceptsGzip = acceptsGzip(header);
      this.#lastAcceptEncoding = header;
    }
    return this.#lastAcceptsGzip;
  }

  /** The header block of `body` in one form. */
  head(
    body: Buffer,
    gz: boolean,
    cacheControl: string,
    contentType: string,
    modified: Date,
    playlist: boolean,
  ): Head {
    const info = this.#info(body);
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
    const notModifiedHeaders = [
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
    if (playlist) notModifiedHeaders.push('Vary', 'Accept-Encoding');
    const h: Head = {
      gz,
      cacheControl,
      contentType,
      modifiedMs,
      etag,
      notModified: notModifiedHeaders,
      ok: null,
    };
    // Bounded: a body seen under ever new dates (storage re-reads give new Buffers, not this).
    if (info.heads.length < 8) info.heads.push(h);
    return h;
  }

  /** The gzip form of `body`: a Buffer once known, else a promise of it. */
  gzipped(body: Buffer): Buffer | Promise<Buffer> {
    const info = this.#info(body);
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

  #info(body: Buffer): BodyInfo {
    let info = this.#bodies.get(body);
    if (!info) {
      info = { hash: createHash('sha1').update(body).digest('base64url'), gzip: null, heads: [] };
      this.#bodies.set(body, info);
    }
    return info;
  }
}

/** The 200 header block of `h` for a body of `length` bytes in its form. */
export function okHead(h: Head, length: number): string[] {
  if (!h.ok) {
    h.ok = h.gz
      ? [...h.notModified, 'Content-Encoding', 'gzip', 'Content-Length', String(length)]
      : [...h.notModified, 'Content-Length', String(length)];
  }
  return h.ok;
}

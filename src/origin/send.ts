import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../core/errors.js';
import { isPlaylistName, type StoredObject } from '../packager/index.js';
import { cacheControlFor, EXPOSED_HEADERS, notModified, okHead, type Representations } from './http-cache.js';

/**
 * How the origin writes answers, with node's own calls only: the fast lane has no
 * express, and the express router writes through the same functions, so both answer
 * the same bytes.
 */

/** CORS on every answer but a preflight (send() writes them in its header block). */
export function setCors(res: ServerResponse): void {
  if (res.headersSent) return;
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
}

/** An error answer in the API's JSON shape (`{"error":{"code","message"}}`). */
export function answerError(res: ServerResponse, e: AppError, headers: Record<string, string>): void {
  setCors(res);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const body = JSON.stringify({ error: { code: e.code, message: e.message } });
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.statusCode = e.status;
  res.end(body);
}

export function notFound(res: ServerResponse): void {
  answerError(res, new AppError('not_found', 'no such playlist or segment'), { 'Cache-Control': 'no-store' });
}

export function badRequest(res: ServerResponse, message: string): void {
  answerError(res, new AppError('bad_request', message), { 'Cache-Control': 'no-store' });
}

export function unavailable(res: ServerResponse, message: string): void {
  answerError(res, new AppError('unavailable', message), { 'Cache-Control': 'no-store', 'Retry-After': '1' });
}

/** One client over its own cap: held requests turn over within a part or two, hence 1 s. */
export function tooManyRequests(res: ServerResponse, message: string): void {
  answerError(res, new AppError('too_many_requests', message), {
    'Cache-Control': 'no-store',
    'Retry-After': '1',
  });
}

/**
 * Answers with `obj`: the header block comes precomputed per body and form and goes out
 * with one writeHead(status, array) and end(body). Synchronous unless a large body must
 * first be gzipped.
 */
export function send(
  reps: Representations,
  req: IncomingMessage,
  res: ServerResponse,
  obj: StoredObject,
  name: string,
  live: boolean,
): void | Promise<void> {
  const playlist = isPlaylistName(name);
  const gz = playlist && reps.wantsGzip(req.headers['accept-encoding']);
  const h = reps.head(obj.body, gz, cacheControlFor(name, live), obj.contentType, obj.modified, playlist);
  if (notModified(req, h.etag, obj.modified)) {
    res.writeHead(304, h.notModified);
    res.end();
    return;
  }
  const body = gz ? reps.gzipped(obj.body) : obj.body;
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

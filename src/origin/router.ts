import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { isStreamId } from '../core/ids.js';
import {
  isObjectName,
  isPlaylistName,
  objectKey,
  parseName,
  type Storage,
  type StoredObject,
} from '../packager/index.js';
import { parseDirectives } from './directives.js';
import type { ClientOf } from '../core/client-address.js';
import { CLIENT_HOLDS_TOO_MANY, fromMemory } from './from-memory.js';
import type { Representations } from './http-cache.js';
import type { LiveOriginApi, PartAnswer } from './live-origin.js';
import { badRequest, notFound, send, setCors, tooManyRequests, unavailable } from './send.js';

export interface HlsRouterDeps {
  storage: Storage;
  /** The live memory (blocking reloads, delta updates, parts); null: everything is served from storage. */
  origin: LiveOriginApi | null;
  reps: Representations;
  /** Who sent a request: held requests count against that client's cap. */
  clientOf: ClientOf;
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

/** holdPart as a promise; 'aborted' when the client goes away first. */
function heldPart(
  origin: LiveOriginApi,
  res: ServerResponse,
  id: string,
  p: { rendition: string; msn: number; part: number },
  client: string,
): Promise<PartAnswer | 'aborted'> {
  return new Promise((resolve) => {
    const now = origin.holdPart(id, p.rendition, p.msn, p.part, client, resolve);
    if (typeof now !== 'function') return resolve(now);
    res.on('close', () => {
      if (res.writableFinished) return;
      now();
      resolve('aborted');
    });
  });
}

/**
 * The HLS origin: `GET|HEAD /hls/{id}/{name}`. `id` and `name` pass the same
 * allow-lists storage keys do, after express has percent-decoded them once, so `..`,
 * encoded or doubly encoded slashes and dots, and backslashes never reach storage;
 * storage itself refuses symlinks and non-files. Every miss is the same 404, and so is
 * a name the origin does not serve (a live rendition's state file).
 *
 * With a live origin, a live rendition's Media Playlist comes from memory: at once, or
 * held until the part `_HLS_msn`/`_HLS_part` name exists (503 when it does not come in
 * time, see timeouts.ts), as a delta update with `_HLS_skip`; a part comes from memory
 * when it travelled with its announcement; a request for a part that is about to be
 * published (the preload hint) is held until it is (404 if it never comes). Everything
 * else, and every stream the origin does not know as live, is served from storage.
 */
export function hlsRouter(deps: HlsRouterDeps): express.Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.use(preflight);
  const { origin, reps, storage, clientOf } = deps;

  /**
   * A media playlist without EXT-X-ENDLIST is live even when no origin knows it yet (the
   * API restarted, or no bus): caches must revalidate it. Only a playlist's Cache-Control
   * depends on it.
   */
  const liveNow = (id: string, name: string, media: boolean, obj: StoredObject): boolean =>
    isPlaylistName(name) &&
    ((origin?.isLive(id) ?? false) ||
      (media && !obj.body.includes('#EXT-X-ENDLIST') && obj.body.includes('#EXT-X-PART-INF')));

  /** Everything not answered from the live origin's memory. */
  const fromStorage = async (
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    name: string,
    media: boolean,
    part: { rendition: string; msn: number; part: number } | null,
  ): Promise<void> => {
    const read = async () => {
      const o = await storage.get(objectKey(id, name));
      if (o && part && origin) origin.keepPart(id, name, o);
      return o;
    };
    let obj: StoredObject | null = null;
    if (part && origin) {
      // A live part: known from the announcements whether it exists yet. One not yet
      // published (the preload hint names it first) is held until it is, with no storage
      // read before; once published it is in memory, or in storage.
      const a = await heldPart(origin, res, id, part, clientOf(req));
      if (a === 'aborted') return;
      if (a === 'busy') return unavailable(res, 'too many held requests; retry shortly');
      if (a === 'limited') return tooManyRequests(res, CLIENT_HOLDS_TOO_MANY);
      if (a === 'published') obj = origin.cachedPart(id, name) ?? (await read());
      else if (a === 'not_live') obj = await read();
    } else {
      obj = await read();
    }
    if (!obj) return notFound(res);
    await send(reps, req, res, obj, name, liveNow(id, name, media, obj));
  };

  router.get('/:id/:name', (req, res, next) => {
    const { id, name } = req.params as { id: string; name: string };
    if (!isStreamId(id) || !isObjectName(name)) return notFound(res);
    const parsed = parseName(name);
    if (parsed?.kind === 'state') return notFound(res);
    const rendition = parsed?.kind === 'playlist' ? parsed.rendition : null;
    const d = rendition === null ? null : parseDirectives(req.query);
    if (typeof d === 'string') return badRequest(res, d);
    const playlist = rendition !== null && d !== null ? { rendition, directives: d } : null;
    const memory = { onError: next, errorsToo: true, client: clientOf(req) };
    if (origin && fromMemory(origin, reps, req, res, id, name, playlist, memory)) return;
    const part = parsed?.kind === 'part' ? parsed : null;
    return fromStorage(req, res, id, name, rendition !== null, part);
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

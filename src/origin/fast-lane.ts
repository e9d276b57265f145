import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { ClientOf } from '../core/client-address.js';
import { isStreamId } from '../core/ids.js';
import { isObjectName, mediaPlaylistRendition } from '../packager/index.js';
import { parseDirectives } from './directives.js';
import { fromMemory } from './from-memory.js';
import type { Representations } from './http-cache.js';
import type { LiveOriginApi } from './live-origin.js';

/** The route label the fast lane's requests are counted under (express's for the same route). */
export const HLS_ROUTE_LABEL = '/hls/:id/:name';

export interface HlsFastLaneDeps {
  origin: LiveOriginApi;
  reps: Representations;
  /** Who sent a request: held requests count against that client's cap. */
  clientOf: ClientOf;
  /** Called once for each request the lane takes (metrics). */
  taken?: (req: IncomingMessage, res: ServerResponse) => void;
  /** A failure after the lane took a request (the answer could not be written). */
  onError?: (e: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * The origin's hot path outside express: a live Media Playlist answered or held from the
 * live origin's memory, and a part from its memory. Thousands of held requests are woken
 * by one event; express re-prototypes every request and response it handles, which makes
 * each node-level call on them about twice as slow (bench/origin: 5,000 held requests
 * released in ~90 ms by node:http on plain objects, ~170 ms once express's prototypes are
 * set). Returns false, having written nothing, for anything else (another method, a name
 * that needs percent-decoding, a malformed directive, a stream this origin does not hold
 * as live, an answer that is an error at once, a part not in memory): the express router
 * then answers it exactly as it would have. Both paths share send() and the error
 * writers, so they answer the same bytes.
 */
export function hlsFastLane(deps: HlsFastLaneDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { origin, reps } = deps;
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
    const playlist = rendition !== null && d !== null ? { rendition, directives: d } : null;
    const taken = deps.taken;
    return fromMemory(origin, reps, req, res, id, name, playlist, {
      onError: (e) => fail(e, req, res),
      errorsToo: false,
      client: deps.clientOf(req),
      ...(taken ? { taken: () => taken(req, res) } : {}),
    });
  };
}

import type { Router } from 'express';
import { AppError } from '../../core/errors.js';
import { requireToken, type ClientGuards } from '../auth.js';
import type { WhepPlayback } from '../../ingest/index.js';
import { sdpEndpointRouter } from './sdp-endpoint.js';

export interface WhepRouterDeps {
  whep: WhepPlayback;
  /** VIEW_TOKEN; unset: playback is open. */
  viewToken: string | undefined;
  /** ICE_SERVERS, sent as `Link: <url>; rel="ice-server"`. */
  iceServers: readonly string[];
  /** Retry-After (seconds) on 409 not live, 503 over the cap and 429 over the client's cap. @defaultValue 5 */
  retryAfterSeconds?: number;
  /** Who the client is (per-client viewer cap) and its failed token checks. */
  guards: ClientGuards;
  /**
   * The origin of the ingest process that holds a stream's publisher (its live job's
   * relay URL), for `?mode=passthrough` asked of a process without it; absent: never redirect.
   */
  ingestOf?: (streamId: string) => Promise<string | null>;
  /** This process's own PUBLIC_URL origin: a redirect there would come straight back. */
  ownOrigin?: () => string;
}

/**
 * WHEP (RFC 9725's sibling, draft-ietf-wish-whep), mounted at `/whep`: the same shape as
 * WHIP. `?layer=` picks a simulcast layer (default: the highest being sent); `?mode=`
 * `passthrough` or `rung`; `?rendition=` pins a rung.
 */
export function whepRouter(deps: WhepRouterDeps): Router {
  const retryAfter = String(deps.retryAfterSeconds ?? 5);
  return sdpEndpointRouter({
    name: 'WHEP',
    noun: 'playback',
    auth: requireToken(deps.viewToken, 'whipcast-view', deps.guards),
    iceServers: deps.iceServers,
    session: (stream, id) => deps.whep.session(stream, id),
    end: (stream, id) => deps.whep.end(stream, id),
    offer: async (req, res, streamId, offer) => {
      // `?layer=`: a simulcast layer's rid (checked by the WHEP role against the stream's layers).
      const { layer, mode, rendition } = req.query;
      if (layer !== undefined && typeof layer !== 'string')
        throw new AppError('bad_request', 'layer must be one rid');
      if (mode !== undefined && typeof mode !== 'string')
        throw new AppError('bad_request', 'mode must be one value');
      if (rendition !== undefined && typeof rendition !== 'string')
        throw new AppError('bad_request', 'rendition must be one rung name');
      // Passthrough needs the publisher's RTP: the process that holds it answers (307), when
      // it has an address of its own; otherwise this process serves the ladder (rung mode).
      if (mode === 'passthrough' && !deps.whep.publishes(streamId) && deps.ingestOf) {
        const origin = await deps.ingestOf(streamId).catch(() => null);
        if (origin && origin !== deps.ownOrigin?.()) return { redirect: `${origin}${req.originalUrl}` };
      }
      try {
        return await deps.whep.play({
          streamId,
          offer,
          client: deps.guards.clientOf(req),
          ...(layer !== undefined ? { layer } : {}),
          ...(mode !== undefined ? { mode } : {}),
          ...(rendition !== undefined ? { rendition } : {}),
        });
      } catch (e) {
        // Not live yet, or full: the client may try again (the player polls).
        if (e instanceof AppError && (e.status === 409 || e.status === 503 || e.status === 429))
          res.setHeader('Retry-After', retryAfter);
        throw e;
      }
    },
  });
}

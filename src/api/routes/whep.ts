import type { Router } from 'express';
import { AppError } from '../../core/errors.js';
import { requireToken } from '../auth.js';
import type { WhepPlayback } from '../../ingest/index.js';
import { sdpEndpointRouter } from './sdp-endpoint.js';

export interface WhepRouterDeps {
  whep: WhepPlayback;
  /** VIEW_TOKEN; unset: playback is open. */
  viewToken: string | undefined;
  /** ICE_SERVERS, sent as `Link: <url>; rel="ice-server"`. */
  iceServers: readonly string[];
  /** Retry-After (seconds) on 409 not live and 503 over the cap. @defaultValue 5 */
  retryAfterSeconds?: number;
}

/**
 * WHEP (draft-ietf-wish-whep), mounted at `/whep`: the same shape as WHIP. `?layer=`
 * picks a simulcast layer (default: the highest being sent).
 */
export function whepRouter(deps: WhepRouterDeps): Router {
  const retryAfter = String(deps.retryAfterSeconds ?? 5);
  return sdpEndpointRouter({
    name: 'WHEP',
    noun: 'playback',
    auth: requireToken(deps.viewToken, 'whipcast-view'),
    iceServers: deps.iceServers,
    session: (stream, id) => deps.whep.session(stream, id),
    end: (stream, id) => deps.whep.end(stream, id),
    offer: async (req, res, streamId, offer) => {
      // `?layer=`: a simulcast layer's rid (checked by the WHEP role against the stream's layers).
      const layer = req.query['layer'];
      if (layer !== undefined && typeof layer !== 'string')
        throw new AppError('bad_request', 'layer must be one rid');
      try {
        return await deps.whep.play({ streamId, offer, ...(layer !== undefined ? { layer } : {}) });
      } catch (e) {
        // Not live yet, or full: the client may try again (the player polls).
        if (e instanceof AppError && (e.status === 409 || e.status === 503))
          res.setHeader('Retry-After', retryAfter);
        throw e;
      }
    },
  });
}

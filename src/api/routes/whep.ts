import type { Router } from 'express';
import { AppError } from '../../core/errors.js';
import { requireToken } from '../auth.js';
import { sdpEndpointRouter, type SdpSessionHandle } from './sdp-endpoint.js';

/** What the WHEP routes need of a viewer session (WhepViewer). */
export type WhepSessionHandle = SdpSessionHandle;

/** What the WHEP routes need of the WHEP role (WhepRegistry). */
export interface WhepPlayback {
  /** Throws AppErrors: 409 not live, 400/422 offers it cannot take, 503 over the viewer cap. */
  play(req: { streamId: string; offer: string }): Promise<WhepSessionHandle & { answer: string }>;
  session(streamId: string, sessionId: string): WhepSessionHandle | null;
  end(streamId: string, sessionId: string): Promise<boolean>;
}

export interface WhepRouterDeps {
  whep: WhepPlayback;
  /** VIEW_TOKEN; unset: playback is open. */
  viewToken: string | undefined;
  /** ICE_SERVERS, sent as `Link: <url>; rel="ice-server"`. */
  iceServers: readonly string[];
  /** Retry-After (seconds) on 409 not live and 503 over the cap. @defaultValue 5 */
  retryAfterSeconds?: number;
}

/** WHEP (draft-ietf-wish-whep), mounted at `/whep`: the same shape as WHIP. */
export function whepRouter(deps: WhepRouterDeps): Router {
  const retryAfter = String(deps.retryAfterSeconds ?? 5);
  return sdpEndpointRouter({
    name: 'WHEP',
    noun: 'playback',
    auth: requireToken(deps.viewToken, 'whipcast-view'),
    iceServers: deps.iceServers,
    session: (stream, id) => deps.whep.session(stream, id),
    end: (stream, id) => deps.whep.end(stream, id),
    offer: async (_req, res, streamId, offer) => {
      try {
        return await deps.whep.play({ streamId, offer });
      } catch (e) {
        // Not live yet, or full: the client may try again (the player polls).
        if (e instanceof AppError && (e.status === 409 || e.status === 503))
          res.setHeader('Retry-After', retryAfter);
        throw e;
      }
    },
  });
}

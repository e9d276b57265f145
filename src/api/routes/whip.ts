import type { Router } from 'express';
import { AppError } from '../../core/errors.js';
import { isPresetId } from '../../core/ids.js';
import { requireToken, type ClientGuards } from '../auth.js';
import type { WhipIngest } from '../../ingest/index.js';
import { sdpEndpointRouter } from './sdp-endpoint.js';

export interface WhipRouterDeps {
  ingest: WhipIngest;
  /** PUBLISH_TOKEN; unset: publishing is open (config allows that on loopback only). */
  publishToken: string | undefined;
  /** ICE_SERVERS, sent to clients as `Link: <url>; rel="ice-server"` (RFC 9725 4.4). */
  iceServers: readonly string[];
  /** Who the client is (per-client session cap) and its failed token checks. */
  guards: ClientGuards;
}

export { SDP_BODY_LIMIT_BYTES } from './sdp-http.js';

/** Seconds a client is told to wait after a 503 (session cap, shutdown) or a 429 (its own cap). */
const RETRY_AFTER_S = 5;

/** WHIP (RFC 9725), mounted at `/whip`; `?preset=` names the live job's preset. */
export function whipRouter(deps: WhipRouterDeps): Router {
  return sdpEndpointRouter({
    name: 'WHIP',
    noun: 'publish',
    auth: requireToken(deps.publishToken, 'whipcast-publish', deps.guards),
    iceServers: deps.iceServers,
    session: (stream, id) => deps.ingest.session(stream, id),
    end: (stream, id) => deps.ingest.end(stream, id),
    offer: async (req, res, streamId, offer) => {
      const preset = req.query['preset'];
      if (preset !== undefined && (typeof preset !== 'string' || !isPresetId(preset))) {
        throw new AppError('bad_request', 'preset must be a preset id: lower-case letters, digits, _ and -');
      }
      try {
        return await deps.ingest.publish({
          streamId,
          offer,
          ...(typeof preset === 'string' ? { presetId: preset } : {}),
          client: deps.guards.clientOf(req),
        });
      } catch (e) {
        // Over a session cap or shutting down: tell the client when to try again.
        if (e instanceof AppError && (e.status === 503 || e.status === 429))
          res.setHeader('Retry-After', String(RETRY_AFTER_S));
        throw e;
      }
    },
  });
}

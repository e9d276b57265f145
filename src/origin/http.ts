import type { IncomingMessage, ServerResponse } from 'node:http';
import type express from 'express';
import { clientResolver, type ClientOf } from '../core/client-address.js';
import type { Storage } from '../packager/index.js';
import { hlsFastLane } from './fast-lane.js';
import { Representations } from './http-cache.js';
import type { LiveOriginApi } from './live-origin.js';
import { hlsRouter } from './router.js';

export interface OriginHttpDeps {
  storage: Storage;
  /** The live memory; null: everything is served from storage (no live role here). */
  origin: LiveOriginApi | null;
  /**
   * Who sent a request (TRUST_PROXY applied): held requests count against that client's
   * cap on both paths. @defaultValue the socket's peer
   */
  clientOf?: ClientOf;
  /** Called once for each request the fast lane takes (metrics). */
  taken?: (req: IncomingMessage, res: ServerResponse) => void;
  /** A failure after the fast lane took a request. */
  onError?: (e: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

export interface OriginHttp {
  /** Mounted at `/hls`. */
  router: express.Router;
  /**
   * Runs before express for every request; true when it took the request (a live
   * playlist or part from memory). Absent without a live origin.
   */
  lane: ((req: IncomingMessage, res: ServerResponse) => boolean) | null;
}

/** The origin's HTTP side: the express router and the fast lane in front of it, sharing one body cache. */
export function createOriginHttp(deps: OriginHttpDeps): OriginHttp {
  const reps = new Representations();
  const clientOf = deps.clientOf ?? clientResolver(null);
  const router = hlsRouter({ storage: deps.storage, origin: deps.origin, reps, clientOf });
  const lane = deps.origin
    ? hlsFastLane({
        origin: deps.origin,
        reps,
        clientOf,
        ...(deps.taken ? { taken: deps.taken } : {}),
        ...(deps.onError ? { onError: deps.onError } : {}),
      })
    : null;
  return { router, lane };
}

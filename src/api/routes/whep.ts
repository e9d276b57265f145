import { Router, type RequestHandler } from 'express';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import { WhipError } from '../../ingest/errors.js';
import { parseIceFragment, type IceFragment } from '../../ingest/sdp/ice-fragment.js';
import { requireToken } from '../auth.js';
import { param } from '../params.js';
import { bodyText, cors, FRAGMENT, iceLinks, ifMatchAllows, readText, requireType, SDP } from './sdp-http.js';

/** What the WHEP routes need of a viewer session (WhepViewer). */
export interface WhepSessionHandle {
  readonly sessionId: string;
  readonly etag: string;
  isIceRestart(frag: IceFragment): boolean;
  addCandidates(frag: IceFragment): Promise<void>;
  restartIce(frag: IceFragment): Promise<string>;
}

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

/**
 * WHEP (draft-ietf-wish-whep), mounted at `/whep`: the same shape as WHIP. Errors are
 * text/plain (the app's error handler does that for /whep/ paths); every answer carries
 * CORS headers.
 */
export function whepRouter(deps: WhepRouterDeps): Router {
  const r = Router();
  const auth = requireToken(deps.viewToken, 'whipcast-view');
  const retryAfter = String(deps.retryAfterSeconds ?? 5);

  const streamId: RequestHandler = (req, _res, next) => {
    if (!isStreamId(param(req, 'stream'))) {
      return next(new AppError('bad_request', 'the stream id must be 1-64 letters, digits, _ or -'));
    }
    next();
  };

  r.use((_req, res, next) => {
    cors(res);
    next();
  });

  r.options('/:stream', (_req, res) => {
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Accept-Post', SDP);
    iceLinks(res, deps.iceServers);
    res.status(204).end();
  });

  r.post('/:stream', streamId, auth, requireType(SDP), readText, async (req, res) => {
    const stream = param(req, 'stream');
    const offer = bodyText(req.body);
    if (offer.trim() === '') throw new AppError('bad_request', 'the body holds no SDP offer');
    let session: WhepSessionHandle & { answer: string };
    try {
      session = await deps.whep.play({ streamId: stream, offer });
    } catch (e) {
      // Not live yet, or full: the client may try again (the player polls).
      if (e instanceof AppError && (e.status === 409 || e.status === 503))
        res.setHeader('Retry-After', retryAfter);
      throw e;
    }
    res.status(201);
    res.setHeader('Location', `${req.baseUrl}/${encodeURIComponent(stream)}/${session.sessionId}`);
    res.setHeader('ETag', session.etag);
    res.setHeader('Cache-Control', 'no-store');
    iceLinks(res, deps.iceServers);
    res.type(SDP).send(session.answer);
  });

  r.all('/:stream', (_req, res) => {
    res.setHeader('Allow', 'POST, OPTIONS');
    throw new WhipError(405, 'a WHEP endpoint takes POST (and OPTIONS)');
  });

  const session = (stream: string, id: string): WhepSessionHandle => {
    const s = isStreamId(stream) ? deps.whep.session(stream, id) : null;
    if (!s) throw new AppError('not_found', 'no such playback session');
    return s;
  };

  r.options('/:stream/:session', (_req, res) => {
    res.setHeader('Access-Control-Allow-Methods', 'PATCH, DELETE, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Accept-Patch', FRAGMENT);
    res.status(204).end();
  });

  r.patch('/:stream/:session', auth, requireType(FRAGMENT), readText, async (req, res) => {
    const s = session(param(req, 'stream'), param(req, 'session'));
    const frag = parseIceFragment(bodyText(req.body));
    const ifMatch = req.get('if-match');
    if (s.isIceRestart(frag)) {
      if (ifMatch === undefined)
        throw new WhipError(428, 'an ICE restart needs an If-Match header ("*" or the ETag)');
      if (!ifMatchAllows(ifMatch, s.etag))
        throw new WhipError(412, 'If-Match does not match the session ETag');
      const fragment = await s.restartIce(frag);
      res.status(200).setHeader('ETag', s.etag);
      res.setHeader('Cache-Control', 'no-store');
      res.type(FRAGMENT).send(fragment);
      return;
    }
    if (ifMatch !== undefined && !ifMatchAllows(ifMatch, s.etag)) {
      throw new WhipError(412, 'If-Match does not match the session ETag');
    }
    await s.addCandidates(frag);
    res.status(204).end();
  });

  r.delete('/:stream/:session', auth, async (req, res) => {
    const stream = param(req, 'stream');
    const ended = isStreamId(stream) && (await deps.whep.end(stream, param(req, 'session')));
    if (!ended) throw new AppError('not_found', 'no such playback session');
    res.status(200).type('text/plain').send('session ended\n');
  });

  r.all('/:stream/:session', (_req, res) => {
    res.setHeader('Allow', 'PATCH, DELETE, OPTIONS');
    throw new WhipError(405, 'a WHEP session takes PATCH and DELETE');
  });

  return r;
}

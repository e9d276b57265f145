import { Router, type RequestHandler } from 'express';
import { AppError } from '../../core/errors.js';
import { isPresetId, isStreamId } from '../../core/ids.js';
import { WhipError } from '../../ingest/errors.js';
import { parseIceFragment, type IceFragment } from '../../ingest/sdp/ice-fragment.js';
import { requireToken } from '../auth.js';
import { param } from '../params.js';
import { bodyText, cors, FRAGMENT, iceLinks, ifMatchAllows, readText, requireType, SDP } from './sdp-http.js';

/** What the WHIP routes need of a publish session (WhipSession). */
export interface WhipSessionHandle {
  readonly sessionId: string;
  readonly etag: string;
  isIceRestart(frag: IceFragment): boolean;
  addCandidates(frag: IceFragment): Promise<void>;
  /** Returns the server's new fragment; `etag` has changed when it resolves. */
  restartIce(frag: IceFragment): Promise<string>;
}

/** What the WHIP routes need of the ingest role (IngestRegistry). */
export interface WhipIngest {
  /** Throws AppErrors (400, 409, 422, 503) for offers it cannot take. */
  publish(req: {
    streamId: string;
    offer: string;
    presetId?: string;
  }): Promise<WhipSessionHandle & { answer: string }>;
  session(streamId: string, sessionId: string): WhipSessionHandle | null;
  end(streamId: string, sessionId: string): Promise<boolean>;
}

export interface WhipRouterDeps {
  ingest: WhipIngest;
  /** PUBLISH_TOKEN; unset: publishing is open (config allows that on loopback only). */
  publishToken: string | undefined;
  /** ICE_SERVERS, sent to clients as `Link: <url>; rel="ice-server"` (RFC 9725 4.4). */
  iceServers: readonly string[];
}

export { SDP_BODY_LIMIT_BYTES } from './sdp-http.js';

/**
 * WHIP (RFC 9725), mounted at `/whip`. Errors are text/plain (the app's error handler
 * does that for /whip/ paths); every answer carries CORS headers.
 */
export function whipRouter(deps: WhipRouterDeps): Router {
  const r = Router();

  const auth = requireToken(deps.publishToken, 'whipcast-publish');

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

  r.options('/:stream', (req, res) => {
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Accept-Post', SDP);
    iceLinks(res, deps.iceServers);
    res.status(204).end();
  });

  r.post('/:stream', streamId, auth, requireType(SDP), readText, async (req, res) => {
    const stream = param(req, 'stream');
    const preset = req.query['preset'];
    if (preset !== undefined && (typeof preset !== 'string' || !isPresetId(preset))) {
      throw new AppError('bad_request', 'preset must be a preset id: lower-case letters, digits, _ and -');
    }
    const offer = bodyText(req.body);
    if (offer.trim() === '') throw new AppError('bad_request', 'the body holds no SDP offer');
    const session = await deps.ingest.publish({
      streamId: stream,
      offer,
      ...(typeof preset === 'string' ? { presetId: preset } : {}),
    });
    res.status(201);
    res.setHeader('Location', `${req.baseUrl}/${encodeURIComponent(stream)}/${session.sessionId}`);
    res.setHeader('ETag', session.etag);
    res.setHeader('Cache-Control', 'no-store');
    iceLinks(res, deps.iceServers);
    res.type(SDP).send(session.answer);
  });

  r.all('/:stream', (_req, res) => {
    res.setHeader('Allow', 'POST, OPTIONS');
    throw new WhipError(405, 'a WHIP endpoint takes POST (and OPTIONS)');
  });

  const session = (stream: string, id: string): WhipSessionHandle => {
    const s = isStreamId(stream) ? deps.ingest.session(stream, id) : null;
    if (!s) throw new AppError('not_found', 'no such publish session');
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
      // RFC 9725 4.3.2: an ICE restart MUST carry If-Match ("*" or the current tag).
      if (ifMatch === undefined) {
        throw new WhipError(428, 'an ICE restart needs an If-Match header ("*" or the ETag)');
      }
      if (!ifMatchAllows(ifMatch, s.etag)) {
        throw new WhipError(412, 'If-Match does not match the session ETag');
      }
      const fragment = await s.restartIce(frag);
      res.status(200).setHeader('ETag', s.etag);
      res.setHeader('Cache-Control', 'no-store');
      res.type(FRAGMENT).send(fragment);
      return;
    }
    // RFC 9725 4.3.1: trickle with a stale tag belongs to an older ICE session.
    if (ifMatch !== undefined && !ifMatchAllows(ifMatch, s.etag)) {
      throw new WhipError(412, 'If-Match does not match the session ETag');
    }
    await s.addCandidates(frag);
    res.status(204).end();
  });

  r.delete('/:stream/:session', auth, async (req, res) => {
    const stream = param(req, 'stream');
    const ended = isStreamId(stream) && (await deps.ingest.end(stream, param(req, 'session')));
    if (!ended) throw new AppError('not_found', 'no such publish session');
    res.status(200).type('text/plain').send('session ended\n');
  });

  r.all('/:stream/:session', (_req, res) => {
    res.setHeader('Allow', 'PATCH, DELETE, OPTIONS');
    throw new WhipError(405, 'a WHIP session takes PATCH and DELETE');
  });

  return r;
}

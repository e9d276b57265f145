import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import { parseIceFragment, WhipError, type SdpSessionHandle } from '../../ingest/index.js';
import { param } from '../params.js';
import { bodyText, cors, FRAGMENT, iceLinks, ifMatchAllows, readText, requireType, SDP } from './sdp-http.js';

export interface SdpEndpointSpec {
  /** `WHIP` or `WHEP`, for error texts. */
  name: string;
  /** `publish` or `playback`, for error texts. */
  noun: string;
  /** Bearer check for POST, PATCH and DELETE. */
  auth: RequestHandler;
  iceServers: readonly string[];
  session(streamId: string, sessionId: string): SdpSessionHandle | null;
  end(streamId: string, sessionId: string): Promise<boolean>;
  /**
   * Negotiates the offer of `POST /{stream}` (already checked: stream id, token, content
   * type, size, not empty) and returns the new session with its answer.
   */
  offer(
    req: Request,
    res: Response,
    streamId: string,
    offer: string,
  ): Promise<(SdpSessionHandle & { answer: string }) | { redirect: string }>;
}

const streamIdParam: RequestHandler = (req, _res, next) => {
  if (!isStreamId(param(req, 'stream'))) {
    return next(new AppError('bad_request', 'the stream id must be 1-64 letters, digits, _ or -'));
  }
  next();
};

/**
 * The HTTP shape WHIP (RFC 9725) and WHEP share: `POST /{stream}` with an SDP offer,
 * `PATCH` (trickle, ICE restart with If-Match) and `DELETE` on the session URL, OPTIONS
 * for CORS, 405 for other methods. Errors are text/plain (the app's error handler does
 * that for these paths); every answer carries CORS headers.
 */
export function sdpEndpointRouter(spec: SdpEndpointSpec): Router {
  const r = Router();
  const { auth } = spec;
  r.use((_req, res, next) => {
    cors(res);
    next();
  });

  r.options('/:stream', (_req, res) => {
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type');
    res.setHeader('Access-Control-Max-Age', '600');
    res.setHeader('Accept-Post', SDP);
    iceLinks(res, spec.iceServers);
    res.status(204).end();
  });

  r.post('/:stream', streamIdParam, auth, requireType(SDP), readText, async (req, res) => {
    const stream = param(req, 'stream');
    const offer = bodyText(req.body);
    if (offer.trim() === '') throw new AppError('bad_request', 'the body holds no SDP offer');
    const session = await spec.offer(req, res, stream, offer);
    if ('redirect' in session) {
      // RFC 9725 4.5 (WHIP, and WHEP the same): a 307 keeps the method and the offer.
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(307, session.redirect);
      return;
    }
    res.status(201);
    res.setHeader('Location', `${req.baseUrl}/${encodeURIComponent(stream)}/${session.sessionId}`);
    res.setHeader('ETag', session.signaling.etag);
    res.setHeader('Cache-Control', 'no-store');
    iceLinks(res, spec.iceServers);
    res.type(SDP).send(session.answer);
  });

  r.all('/:stream', (_req, res) => {
    res.setHeader('Allow', 'POST, OPTIONS');
    throw new WhipError(405, `a ${spec.name} endpoint takes POST (and OPTIONS)`);
  });

  const session = (stream: string, id: string): SdpSessionHandle => {
    const s = isStreamId(stream) ? spec.session(stream, id) : null;
    if (!s) throw new AppError('not_found', `no such ${spec.noun} session`);
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
    const ice = s.signaling;
    if (ice.isIceRestart(frag)) {
      // RFC 9725 4.3.2: an ICE restart MUST carry If-Match ("*" or the current tag).
      if (ifMatch === undefined) {
        throw new WhipError(428, 'an ICE restart needs an If-Match header ("*" or the ETag)');
      }
      if (!ifMatchAllows(ifMatch, ice.etag)) {
        throw new WhipError(412, 'If-Match does not match the session ETag');
      }
      const { fragment } = await ice.restartIce(frag);
      res.status(200).setHeader('ETag', ice.etag);
      res.setHeader('Cache-Control', 'no-store');
      res.type(FRAGMENT).send(fragment);
      return;
    }
    // RFC 9725 4.3.1: trickle with a stale tag belongs to an older ICE session.
    if (ifMatch !== undefined && !ifMatchAllows(ifMatch, ice.etag)) {
      throw new WhipError(412, 'If-Match does not match the session ETag');
    }
    await ice.addCandidates(frag);
    res.status(204).end();
  });

  r.delete('/:stream/:session', auth, async (req, res) => {
    const stream = param(req, 'stream');
    const ended = isStreamId(stream) && (await spec.end(stream, param(req, 'session')));
    if (!ended) throw new AppError('not_found', `no such ${spec.noun} session`);
    res.status(200).type('text/plain').send('session ended\n');
  });

  r.all('/:stream/:session', (_req, res) => {
    res.setHeader('Allow', 'PATCH, DELETE, OPTIONS');
    throw new WhipError(405, `a ${spec.name} session takes PATCH and DELETE`);
  });
  return r;
}

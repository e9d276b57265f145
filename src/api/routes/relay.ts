import { Router } from 'express';
import { AppError } from '../../core/errors.js';
import type { RelayApi, RelayBodyHandle } from '../../live/index.js';
import { bearerToken } from '../auth.js';
import { param } from '../params.js';

/**
 * `GET /internal/relay/{stream}` with `Authorization: Bearer <the live job's token>`:
 * `200 video/x-matroska`, the stream's current publish session from a key frame until
 * that session ends, with `X-Whipcast-Epoch` (epoch ms of the body's media time 0),
 * `X-Whipcast-Session` and `X-Whipcast-Tracks` (`video=h264,audio=opus`). 401 without a
 * valid token (also for streams nobody authorized), 404 when the stream is not live
 * (whatever the token: liveness is public, GET /api/streams).
 * `?layers=all` (passthrough presets): every simulcast layer (or the one encoding) as
 * its own video track, largest first, from an instant where every layer has a key
 * frame, described by `X-Whipcast-Layers` (`rid:WxH:fps:kbps` per track, `-` for a
 * rid-less encoding or an unknown figure); 409 with the reason when the layers cannot
 * be passed through (key frames not aligned, not H.264). Any other `layers` value is 400.
 * Mounted at `/internal/relay`; workers are its only clients.
 */
export function relayRouter(deps: { relay: RelayApi }): Router {
  const r = Router();
  r.get('/:stream', async (req, res) => {
    const streamId = param(req, 'stream');
    const layers = req.query.layers;
    if (layers !== undefined && layers !== 'all') {
      throw new AppError('validation_failed', 'layers: must be all', { field: 'layers' });
    }
    let handle: RelayBodyHandle;
    try {
      handle = deps.relay.open(streamId, bearerToken(req.get('authorization')), { layers: layers === 'all' });
    } catch (e) {
      if (e instanceof AppError && e.code === 'unauthorized') {
        res.setHeader('WWW-Authenticate', 'Bearer realm="whipcast-relay"');
      }
      throw e;
    }
    let gone = false;
    // The client left (or the body ended and was sent): release the subscription.
    res.on('close', () => {
      gone = true;
      handle.close();
    });
    let meta: Awaited<RelayBodyHandle['ready']>;
    try {
      meta = await handle.ready;
    } catch (e) {
      if (gone) return;
      throw e;
    }
    if (gone) return;
    const t = meta.tracks;
    res.status(200).set({
      'Content-Type': 'video/x-matroska',
      'Cache-Control': 'no-store',
      'X-Whipcast-Epoch': String(Math.round(meta.epochMs)),
      'X-Whipcast-Session': meta.sessionId,
      'X-Whipcast-Tracks': [t.video && `video=${t.video}`, t.audio && `audio=${t.audio}`]
        .filter(Boolean)
        .join(','),
      ...(t.width !== null && t.height !== null ? { 'X-Whipcast-Video-Size': `${t.width}x${t.height}` } : {}),
      ...(meta.fps !== null ? { 'X-Whipcast-Video-Fps': String(meta.fps) } : {}),
      ...(meta.layers
        ? {
            'X-Whipcast-Layers': meta.layers
              .map((l) =>
                [l.rid ?? '-', `${l.width}x${l.height}`, l.fps ?? '-', l.bitrateKbps ?? '-'].join(':'),
              )
              .join(','),
          }
        : {}),
    });
    // Each frame is its own write: no Nagle delay behind the previous one.
    req.socket.setNoDelay(true);
    res.flushHeaders();
    // A body closed before its end (the relay is shutting down) must not look like a
    // finished stream to the reader: drop the connection instead of ending the response.
    handle.body.on('close', () => {
      if (!handle.body.readableEnded) res.destroy();
    });
    handle.body.pipe(res);
  });
  return r;
}

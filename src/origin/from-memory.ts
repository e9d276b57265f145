import type { IncomingMessage, ServerResponse } from 'node:http';
import { PLAYLIST_TYPE } from '../packager/index.js';
import type { DeliveryDirectives } from './directives.js';
import type { Representations } from './http-cache.js';
import type { LiveOriginApi, PlaylistAnswer } from './live-origin.js';
import { badRequest, send, tooManyRequests, unavailable } from './send.js';

/** What a client over MAX_HELD_PER_CLIENT is told, on either path. */
export const CLIENT_HOLDS_TOO_MANY =
  'this client holds as many blocking requests as one client may (MAX_HELD_PER_CLIENT); retry shortly';

/** A live playlist answer (from memory) to the HTTP answer. */
function answerPlaylist(
  reps: Representations,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (e: unknown) => void,
  name: string,
  a: Exclude<PlaylistAnswer, { kind: 'not_live' }>,
): void {
  switch (a.kind) {
    case 'playlist': {
      const obj = { body: a.body, contentType: PLAYLIST_TYPE, modified: a.modified };
      const sent = send(reps, req, res, obj, name, true);
      if (sent) sent.catch(onError);
      return;
    }
    case 'too_far':
      return badRequest(res, `_HLS_msn is more than two segments after the last one (${a.lastMsn})`);
    case 'timeout':
      return unavailable(res, 'the requested part did not arrive in time; reload the playlist');
    case 'busy':
      return unavailable(res, 'too many blocked playlist requests; retry shortly');
    case 'limited':
      return tooManyRequests(res, CLIENT_HOLDS_TOO_MANY);
  }
}

export interface FromMemoryOptions {
  onError: (e: unknown) => void;
  /** Also write an answer that is an error at once (400, 503); else leave it to the caller. */
  errorsToo: boolean;
  /** Called once when this function takes the request. */
  taken?: () => void;
  /** The request's client key (src/core/client-address.ts): a held request counts against its cap. */
  client: string;
}

/**
 * A live Media Playlist (`rendition` set, with its directives `d`) or a part, from the
 * origin's memory: answered now, or held and answered synchronously from the bus event
 * that satisfies it. Returns false, having written nothing, when memory has no answer
 * (not live here, a part not kept), and for an answer that is an error at once unless
 * `errorsToo`.
 */
export function fromMemory(
  origin: LiveOriginApi,
  reps: Representations,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  name: string,
  playlist: { rendition: string; directives: DeliveryDirectives } | null,
  o: FromMemoryOptions,
): boolean {
  if (playlist !== null) {
    const now = origin.holdPlaylist(id, playlist.rendition, playlist.directives, o.client, (a) => {
      try {
        if (a.kind !== 'not_live') answerPlaylist(reps, req, res, o.onError, name, a);
      } catch (e) {
        o.onError(e);
      }
    });
    if (typeof now === 'function') {
      o.taken?.();
      // 'close' follows every response; only one closed before its answer drops the hold.
      res.on('close', () => {
        if (!res.writableFinished) now();
      });
      return true;
    }
    if (now.kind === 'not_live') return false;
    if (now.kind !== 'playlist' && !o.errorsToo) return false;
    o.taken?.();
    answerPlaylist(reps, req, res, o.onError, name, now);
    return true;
  }
  const kept = origin.cachedPart(id, name);
  if (!kept) return false;
  o.taken?.();
  const sent = send(reps, req, res, kept, name, false);
  if (sent) sent.catch(o.onError);
  return true;
}

import type { CancelHold, LiveOriginApi, PartAnswer, PlaylistAnswer } from '../../src/origin/live-origin.js';
import type { DeliveryDirectives } from '../../src/origin/directives.js';

/** A callback-style hold as a promise, cancelled by `signal`. */
function promiseOf<T>(
  signal: AbortSignal,
  onAbort: T,
  hold: (answer: (v: T) => void) => T | CancelHold,
): Promise<T> {
  if (signal.aborted) return Promise.resolve(onAbort);
  return new Promise<T>((resolve) => {
    let cancel: CancelHold = () => undefined;
    const aborted = (): void => {
      cancel();
      resolve(onAbort);
    };
    const now = hold((v) => {
      signal.removeEventListener('abort', aborted);
      resolve(v);
    });
    if (typeof now !== 'function') return resolve(now as T);
    cancel = now as CancelHold;
    signal.addEventListener('abort', aborted, { once: true });
  });
}

/** LiveOriginApi.holdPlaylist as a promise; `aborted` when `signal` aborts first. */
export function mediaPlaylist(
  origin: LiveOriginApi,
  streamId: string,
  rendition: string,
  d: DeliveryDirectives,
  signal: AbortSignal,
  client = '127.0.0.1',
): Promise<PlaylistAnswer | { kind: 'aborted' }> {
  return promiseOf<PlaylistAnswer | { kind: 'aborted' }>(signal, { kind: 'aborted' }, (answer) =>
    origin.holdPlaylist(streamId, rendition, d, client, answer),
  );
}

/** LiveOriginApi.holdPart as a promise; `aborted` when `signal` aborts first. */
export function awaitPart(
  origin: LiveOriginApi,
  streamId: string,
  rendition: string,
  msn: number,
  part: number,
  signal: AbortSignal,
  client = '127.0.0.1',
): Promise<PartAnswer | 'aborted'> {
  return promiseOf<PartAnswer | 'aborted'>(signal, 'aborted', (answer) =>
    origin.holdPart(streamId, rendition, msn, part, client, answer),
  );
}

import type { LiveSource } from './source.js';

/**
 * What reads a live stream (a relay body feeding a worker, a WHEP fan-out): it follows
 * the stream's current source through takeovers until the stream ends. The stream calls
 * attach() at once when the reader is added, with the source of that moment.
 */
export interface LiveReader {
  /**
   * `source` is the stream's current source now: the first one the reader sees
   * (`takeover` false), or one that replaced the previous (`takeover` true; the previous
   * source ends right after, and the reader must let go of it).
   */
  attach(source: LiveSource, takeover: boolean): void;
  /** The stream ended: its source ended and none took over. Called once; the reader is dropped. */
  streamEnded(reason: string): void;
}

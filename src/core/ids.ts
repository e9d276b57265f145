/**
 * Names that users choose and that end up in storage keys, URLs, Redis keys and
 * (through the worker) file names. One allow-list for each, checked at the edge.
 */
export const PRESET_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Stream and VOD asset ids share one namespace under /hls/{id}/. */
export const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function isPresetId(s: string): boolean {
  return PRESET_ID.test(s);
}

export function isStreamId(s: string): boolean {
  return STREAM_ID.test(s);
}

import { STREAM_ID } from '../../core/ids.js';

/**
 * Storage keys are `{assetId}/{name}`. Both halves come from an allow-list, so a key
 * can never climb out of its asset's folder (local disk) or prefix (S3), and the
 * origin can check a URL against the same rules before touching storage.
 */
export const ASSET_ID = STREAM_ID;
/** Flat names the packager writes: `index.m3u8`, `720p_init.mp4`, `720p_12.3.m4s`. */
export const OBJECT_NAME = /^[a-z0-9][a-z0-9_.-]{0,80}$/;

export function isAssetId(s: string): boolean {
  return ASSET_ID.test(s);
}

export function isObjectName(s: string): boolean {
  return OBJECT_NAME.test(s) && !s.includes('..');
}

export interface ParsedKey {
  assetId: string;
  name: string;
}

/** null for anything that is not exactly `{valid assetId}/{valid name}`. */
export function parseKey(key: string): ParsedKey | null {
  const slash = key.indexOf('/');
  if (slash < 0) return null;
  const assetId = key.slice(0, slash);
  const name = key.slice(slash + 1);
  return isAssetId(assetId) && isObjectName(name) ? { assetId, name } : null;
}

export const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
export const MP4_TYPE = 'video/mp4';

/** Content type by extension: RFC 8216bis 4 names application/vnd.apple.mpegurl for playlists. */
export function contentTypeFor(name: string): string {
  if (name.endsWith('.m3u8')) return PLAYLIST_TYPE;
  if (name.endsWith('.mp4') || name.endsWith('.m4s')) return MP4_TYPE;
  if (name.endsWith('.json')) return 'application/json';
  // Posters, seeking sprites and thumbnail tracks (src/packager/thumbnails/names.ts).
  if (name.endsWith('.jpg')) return 'image/jpeg';
  if (name.endsWith('.vtt')) return 'text/vtt';
  return 'application/octet-stream';
}

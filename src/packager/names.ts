import { STREAM_ID } from '../core/ids.js';

/**
 * The one naming scheme of every stored object. Storage keys are `{assetId}/{name}`; a
 * name is flat and comes from the formats below, each of which parses back to what made
 * it (test/unit/packager-names.test.ts checks the round trip for any rendition and
 * number). Both halves also pass an allow-list, so a key can never climb out of its
 * asset's folder (local disk) or prefix (S3), and the origin checks a URL against the
 * same rules before touching storage.
 *
 * | name                        | what                                              |
 * | --------------------------- | ------------------------------------------------- |
 * | `index.m3u8`                | the Multivariant Playlist (VOD: written last)     |
 * | `{r}.m3u8`                  | rendition r's Media Playlist                      |
 * | `{r}.state.json`            | a live rendition's playlist state (for resuming)  |
 * | `{r}_init.mp4`              | VOD init segment                                  |
 * | `{r}_init_{run}.mp4`        | live init segment of one ffmpeg run               |
 * | `{r}_{msn}.m4s`             | a Media Segment                                   |
 * | `{r}_{msn}.{part}.m4s`      | a Partial Segment (live)                          |
 * | `poster.jpg`                | a file's poster (live posters are made on demand) |
 * | `sprite.jpg`                | a file's seeking thumbnails, tiled                |
 * | `thumbnails.vtt`            | WebVTT cues `sprite.jpg#xywh=…` into the sprite   |
 */

export const ASSET_ID = STREAM_ID;
/** What storage accepts as a name: the formats below all pass it. */
export const OBJECT_NAME = /^[a-z0-9][a-z0-9_.-]{0,80}$/;
/** Same alphabet as preset rung names; `index` is taken by the multivariant playlist. */
export const RENDITION_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const MULTIVARIANT_NAME = 'index.m3u8';
export const POSTER_NAME = 'poster.jpg';
export const SPRITE_NAME = 'sprite.jpg';
/** WebVTT cues whose text is `sprite.jpg#xywh=x,y,w,h`: the thumbnail track players use for seeking previews. */
export const THUMBNAILS_VTT_NAME = 'thumbnails.vtt';

export type ObjectName =
  | { kind: 'multivariant' }
  | { kind: 'poster' }
  | { kind: 'sprite' }
  | { kind: 'thumbnails' }
  | { kind: 'playlist'; rendition: string }
  | { kind: 'state'; rendition: string }
  /** `run` absent: the VOD form. */
  | { kind: 'init'; rendition: string; run?: number }
  | { kind: 'segment'; rendition: string; msn: number }
  | { kind: 'part'; rendition: string; msn: number; part: number };

export const playlistName = (rendition: string): string => `${rendition}.m3u8`;
export const stateName = (rendition: string): string => `${rendition}.state.json`;
export const initName = (rendition: string, run?: number): string =>
  run === undefined ? `${rendition}_init.mp4` : `${rendition}_init_${run}.mp4`;
export const segmentName = (rendition: string, msn: number): string => `${rendition}_${msn}.m4s`;
export const partName = (rendition: string, msn: number, part: number): string =>
  `${rendition}_${msn}.${part}.m4s`;

export function formatName(n: ObjectName): string {
  switch (n.kind) {
    case 'multivariant':
      return MULTIVARIANT_NAME;
    case 'poster':
      return POSTER_NAME;
    case 'sprite':
      return SPRITE_NAME;
    case 'thumbnails':
      return THUMBNAILS_VTT_NAME;
    case 'playlist':
      return playlistName(n.rendition);
    case 'state':
      return stateName(n.rendition);
    case 'init':
      return initName(n.rendition, n.run);
    case 'segment':
      return segmentName(n.rendition, n.msn);
    case 'part':
      return partName(n.rendition, n.msn, n.part);
  }
}

// The rendition is everything before the last `_` (or `.`) that the format puts there:
// renditions may hold `_` and digits themselves, so the greedy `(.+)` decides.
const PLAYLIST = /^(.+)\.m3u8$/;
const STATE = /^(.+)\.state\.json$/;
const LIVE_INIT = /^(.+)_init_(\d{1,9})\.mp4$/;
const VOD_INIT = /^(.+)_init\.mp4$/;
const SEGMENT = /^(.+)_(\d{1,15})\.m4s$/;
const PART = /^(.+)_(\d{1,15})\.(\d{1,6})\.m4s$/;

const rendition = (r: string | undefined): string | null =>
  r !== undefined && RENDITION_NAME.test(r) && r !== 'index' ? r : null;

/** What `name` is, or null for a name no format makes. */
export function parseName(name: string): ObjectName | null {
  if (name === MULTIVARIANT_NAME) return { kind: 'multivariant' };
  if (name === POSTER_NAME) return { kind: 'poster' };
  if (name === SPRITE_NAME) return { kind: 'sprite' };
  if (name === THUMBNAILS_VTT_NAME) return { kind: 'thumbnails' };
  let m: RegExpExecArray | null;
  let r: string | null;
  if ((m = PART.exec(name)) && (r = rendition(m[1]))) {
    return { kind: 'part', rendition: r, msn: Number(m[2]), part: Number(m[3]) };
  }
  if ((m = SEGMENT.exec(name)) && (r = rendition(m[1]))) {
    return { kind: 'segment', rendition: r, msn: Number(m[2]) };
  }
  if ((m = LIVE_INIT.exec(name)) && (r = rendition(m[1]))) {
    return { kind: 'init', rendition: r, run: Number(m[2]) };
  }
  if ((m = VOD_INIT.exec(name)) && (r = rendition(m[1]))) return { kind: 'init', rendition: r };
  if ((m = STATE.exec(name)) && (r = rendition(m[1]))) return { kind: 'state', rendition: r };
  if ((m = PLAYLIST.exec(name)) && (r = rendition(m[1]))) return { kind: 'playlist', rendition: r };
  return null;
}

/** `{rendition}_{msn}.{part}.m4s`, else null. */
export function parsePartName(name: string): { rendition: string; msn: number; part: number } | null {
  const n = parseName(name);
  return n?.kind === 'part' ? n : null;
}

/** `{rendition}.m3u8` of a Media Playlist (not index.m3u8), else null. */
export function mediaPlaylistRendition(name: string): string | null {
  const n = parseName(name);
  return n?.kind === 'playlist' ? n.rendition : null;
}

export function isAssetId(s: string): boolean {
  return ASSET_ID.test(s);
}

export function isObjectName(s: string): boolean {
  return OBJECT_NAME.test(s) && !s.includes('..');
}

export function isPlaylistName(name: string): boolean {
  return name.endsWith('.m3u8');
}

/** The storage key of `name` in asset `assetId`. */
export function objectKey(assetId: string, name: string): string {
  return `${assetId}/${name}`;
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
export const JSON_TYPE = 'application/json';
export const JPEG_TYPE = 'image/jpeg';
export const VTT_TYPE = 'text/vtt';

/** Content type by extension: RFC 8216bis 4 names application/vnd.apple.mpegurl for playlists. */
export function contentTypeFor(name: string): string {
  if (name.endsWith('.m3u8')) return PLAYLIST_TYPE;
  if (name.endsWith('.mp4') || name.endsWith('.m4s')) return MP4_TYPE;
  if (name.endsWith('.json')) return JSON_TYPE;
  if (name.endsWith('.jpg')) return JPEG_TYPE;
  if (name.endsWith('.vtt')) return VTT_TYPE;
  return 'application/octet-stream';
}

/**
 * Whether the object never changes once written: init segments, segments and parts
 * (their names are never reused), and a file's pictures. Playlists and state change;
 * a live stream's poster is never stored (it is made on demand).
 */
export function isImmutableName(name: string): boolean {
  return name.endsWith('.mp4') || name.endsWith('.m4s') || name.endsWith('.jpg') || name.endsWith('.vtt');
}

/**
 * The packager role's shared surface: storage, the naming scheme of every stored object,
 * and the rendition seam. The live and VOD packagers have their own (live/index.ts,
 * vod/index.ts), re-exported here.
 */
export { createStorage, storageStats } from './storage/create.js';
export type { Storage, StoredObject } from './storage/storage.js';
export type { BacklogStats } from './storage/upload-queue.js';
export type { RenditionReport } from './playlist/media.js';
export type { RenditionSpec } from './rendition.js';
export {
  contentTypeFor,
  formatName,
  isAssetId,
  isImmutableName,
  isObjectName,
  isPlaylistName,
  mediaPlaylistRendition,
  MP4_TYPE,
  MULTIVARIANT_NAME,
  objectKey,
  parseName,
  parsePartName,
  PLAYLIST_TYPE,
  POSTER_NAME,
  SPRITE_NAME,
  THUMBNAILS_VTT_NAME,
  JPEG_TYPE,
  VTT_TYPE,
  type ObjectName,
} from './names.js';
export {
  allSegments,
  lowestRung,
  newestSegments,
  runBytes,
  type LowestRung,
  type SegmentRun,
} from './thumbnails/source.js';
export {
  planSprite,
  posterTimeS,
  renderThumbnailsVtt,
  segmentsFor,
  type SpritePlan,
} from './thumbnails/sprite.js';
export * from './live/index.js';
export * from './vod/index.js';
// WHEP's rung mode reads the parts the origin receives into samples.
export { parseInit, type TrackInfo } from './mp4/init.js';
export { avcParameterSets, readSamples, type Mp4Sample } from './mp4/samples.js';

/** The VOD packager's public surface: what the worker's file job uses. */
export { VodPackager, type VodPackagerOptions, type VodResult } from './packager.js';
export type { RenditionSummary } from './playlists.js';

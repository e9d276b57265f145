/**
 * The live packager's public surface: what the worker (the factory, the run seam), the
 * origin (playlist state, rendering, blocking-reload positions, the bus) and the
 * composition root use.
 */
export { createLivePackagerFactory, type LivePackagerOptions } from './packager.js';
export type { LivePackagerFactory, LivePackagerLike, LivePackagerRun } from './types.js';
export {
  DEFAULT_MAX_ANNOUNCED_PART_BYTES,
  joinLiveBuses,
  LocalLiveBus,
  type LiveBus,
  type LiveEvent,
  type LiveListener,
  type LivePublishedPart,
} from './bus.js';
export { RedisLiveBus, type RedisLiveBusOptions } from './redis-bus.js';
export type { LiveRenditionState } from './state.js';
export {
  lastShownMsn,
  partNeverComing,
  partPublished,
  renderLivePlaylist,
  renditionReport,
  satisfies,
} from './playlist.js';

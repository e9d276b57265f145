/**
 * The origin role: LL-HLS and VOD over HTTP. Live playlists and recent parts from memory
 * (blocking reloads answered the moment the bus event arrives), everything else from
 * storage, with HTTP caching. What other roles and the composition root may use.
 */
export { LiveOrigin, type LiveOriginApi, type LiveOriginOptions } from './live-origin.js';
export { OriginMetrics } from './metrics.js';
export { HLS_ROUTE_LABEL } from './fast-lane.js';
export { createOriginHttp, type OriginHttp, type OriginHttpDeps } from './http.js';
export { LivePosters, type PostersApi } from './live-posters.js';
export { LIVE_POSTER_ROUTE, livePosterRoute } from './poster-route.js';
export { HlsViewers } from './hls-viewers.js';

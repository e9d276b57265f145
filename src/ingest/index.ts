/**
 * The ingest role: the WebRTC edge. WHIP publish sessions (SDP, ICE, RTP received,
 * reordered, NACKed and depacketized into frames) and WHEP viewer sessions (RTP sent).
 * What other roles and the composition root may use.
 */
export {
  IngestRegistry,
  type IngestRegistryOptions,
  type PublishRequest,
  type WhipIngest,
} from './whip/registry.js';
export { WhipSession, type SessionEndReason } from './whip/session.js';
export type { PeerNetworkOptions } from './whip/peer.js';
export {
  WhepRegistry,
  type WhepPlayback,
  type WhepRegistryOptions,
  type WhepStreamStats,
} from './whep/registry.js';
export { RungFeeds, type RungFeedsOptions } from './whep/rung-feeds.js';
export type { SdpSessionHandle } from './peer/session-handle.js';
export { parseIceFragment, type IceFragment } from './sdp/ice-fragment.js';
export { WhipError } from './errors.js';

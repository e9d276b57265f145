import type { IceFragment } from '../sdp/ice-fragment.js';

/** The PATCH side of a session (PeerSignaling): what the session routes call. */
export interface IceSignaling {
  /** Entity tag of the current ICE session (RFC 9725 4.3.1); changes on ICE restart. */
  readonly etag: string;
  isIceRestart(frag: IceFragment): boolean;
  addCandidates(frag: IceFragment): Promise<void>;
  /** Resolves with the server's new fragment; `etag` has changed when it resolves. */
  restartIce(frag: IceFragment): Promise<{ fragment: string }>;
}

/** What the session routes need of a WHIP publish or WHEP playback session. */
export interface SdpSessionHandle {
  readonly sessionId: string;
  readonly signaling: IceSignaling;
}

import type { RtpPacket } from 'werift';
import type { AudioTrackInfo, MediaFrame, VideoTrackInfo } from '../core/media.js';
import type { IngestStats } from '../core/streams.js';

/**
 * A tap on a source's received RTP, in arrival order (before reordering): the packet
 * object werift parsed, shared by every listener, which must not change it.
 */
export type RtpListener = (kind: 'video' | 'audio', rtp: RtpPacket, arrivalMs: number) => void;

/**
 * One publish session's media, as every reader of a live stream takes it: whole frames
 * on one clock (the relay to the workers) and the publisher's RTP as received (WHEP
 * passthrough). The ingest's WHIP session implements it.
 */
export interface LiveSource {
  readonly streamId: string;
  readonly sessionId: string;
  /** Wall clock (epoch ms) of media time 0. */
  readonly epochMs: number;
  readonly video: VideoTrackInfo | null;
  readonly audio: AudioTrackInfo | null;
  readonly ended: boolean;
  /** Frames in arrival order; returns the unsubscribe function. */
  onFrame(listener: (frame: MediaFrame) => void): () => void;
  /** RTP as received; returns the unsubscribe function. */
  onRtp(listener: RtpListener): () => void;
  /** Called once when the session ends (DELETE, takeover, ICE failure, media timeout). */
  onEnd(listener: (reason: string) => void): () => void;
  /** Ask the publisher for a key frame (PLI/FIR), rate-limited by the session. */
  requestKeyframe(): void;
  /** The session's figures now. */
  stats(): IngestStats;
  /** Ends the session: another one took the stream over. */
  close(reason: 'takeover'): Promise<void>;
}

import type { RtpPacket } from 'werift';
import type { AudioTrackInfo, MediaFrame, VideoTrackInfo } from '../core/media.js';
import type { IngestStats } from '../core/streams.js';

/**
 * A tap on a source's received RTP, in arrival order (before reordering): the packet
 * object werift parsed, shared by every listener, which must not change it. `rid`: the
 * simulcast layer it belongs to (RFC 8851); null for audio and for one encoding.
 */
export type RtpListener = (
  kind: 'video' | 'audio',
  rtp: RtpPacket,
  arrivalMs: number,
  rid: string | null,
) => void;

/**
 * A video frame of one encoding: simulcast layer `rid` (RFC 8851), or the session's one
 * encoding (rid null).
 */
export type LayerFrameListener = (rid: string | null, frame: MediaFrame) => void;

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
  /** For simulcast also the layers and the one whose frames onFrame hands on (`layer`). */
  readonly video: VideoTrackInfo | null;
  readonly audio: AudioTrackInfo | null;
  readonly ended: boolean;
  /** Frames in arrival order (simulcast: the highest layer being sent); returns the unsubscribe function. */
  onFrame(listener: (frame: MediaFrame) => void): () => void;
  /**
   * Every video frame of every layer (the passthrough relay packages each layer), before
   * the top layer is chosen; one encoding's frames with rid null. Each layer's times
   * follow its own RTP clock, anchored at its own first frame's arrival, so layers can
   * be a constant few milliseconds apart. Audio comes through onFrame only. Returns the
   * unsubscribe function.
   */
  onLayerFrame(listener: LayerFrameListener): () => void;
  /** RTP as received; returns the unsubscribe function. */
  onRtp(listener: RtpListener): () => void;
  /** Called once when the session ends (DELETE, takeover, ICE failure, media timeout). */
  onEnd(listener: (reason: string) => void): () => void;
  /**
   * Ask the publisher for a key frame (PLI/FIR), rate-limited by the session: of
   * simulcast layer `rid`, or (no rid) of the layer whose frames onFrame hands on.
   */
  requestKeyframe(rid?: string): void;
  /** The session's figures now. */
  stats(): IngestStats;
  /** Ends the session: another one took the stream over. */
  close(reason: 'takeover'): Promise<void>;
}

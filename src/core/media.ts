/**
 * The seam between ingest (WHIP sessions) and the media relay that feeds workers.
 * Ingest turns RTP into whole frames on one clock; the relay muxes them for ffmpeg.
 */

/** The codecs ingest takes from a publisher (also listed in GET /api/streams). */
export const MEDIA_VIDEO_CODECS = ['h264', 'vp8', 'vp9'] as const;
export type VideoCodec = (typeof MEDIA_VIDEO_CODECS)[number];
export const MEDIA_AUDIO_CODECS = ['opus'] as const;
export type AudioCodec = (typeof MEDIA_AUDIO_CODECS)[number];

export interface MediaFrame {
  kind: 'video' | 'audio';
  codec: VideoCodec | AudioCodec;
  /**
   * Presentation time in microseconds since the session's media time 0, one clock for
   * both tracks (RTP timestamps unwrapped and mapped to it), never going backwards
   * within a track.
   */
  timeUs: number;
  /** Video: an IDR / key frame (a decoder can start here). Audio: always true. */
  keyframe: boolean;
  /**
   * H.264: one access unit in Annex-B form (start codes), with SPS and PPS in front of
   * every IDR. VP8/VP9: one frame as sent. Opus: one packet.
   */
  data: Buffer;
  /** Wall clock (epoch ms, fractional) when its last RTP packet arrived. */
  arrivalMs: number;
}

export interface VideoTrackInfo {
  codec: VideoCodec;
  /** From the bitstream (SPS / key frame header), once a key frame was seen. */
  width: number | null;
  height: number | null;
  /** H.264 profile-level-id as read from the SPS (not the SDP), e.g. `640028`. */
  profileLevelId?: string;
}

export interface AudioTrackInfo {
  codec: AudioCodec;
  sampleRate: 48000;
  channels: 1 | 2;
}

/** One publish session's media, as the relay consumes it. */
export interface FrameSource {
  readonly streamId: string;
  readonly sessionId: string;
  /** Wall clock (epoch ms) of media time 0. */
  readonly epochMs: number;
  readonly video: VideoTrackInfo | null;
  readonly audio: AudioTrackInfo | null;
  /** Subscribe to frames in arrival order; returns the unsubscribe function. */
  onFrame(listener: (frame: MediaFrame) => void): () => void;
  /** Called once when the session ends (DELETE, takeover, ICE failure, media timeout). */
  onEnd(listener: (reason: string) => void): () => void;
  /** Ask the publisher for a key frame (PLI/FIR), rate-limited by the session. */
  requestKeyframe(): void;
  readonly ended: boolean;
}

/** Which session currently publishes each stream (the ingest role implements it). */
export interface FrameSources {
  current(streamId: string): FrameSource | null;
  /** Fires whenever a stream gets a new current session (first publish or takeover). */
  onSession(listener: (source: FrameSource) => void): () => void;
}

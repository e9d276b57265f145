/**
 * Media as the roles hand it on: ingest turns RTP into whole frames on one clock (and
 * reads the tracks' real sizes from the bitstream); the relay muxes the frames for ffmpeg.
 */

/** The codecs ingest takes from a publisher (also listed in GET /api/streams). */
export const MEDIA_VIDEO_CODECS = ['h264', 'h265', 'av1', 'vp8', 'vp9'] as const;
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
   * every IDR. H.265: the same, with VPS, SPS and PPS in front of every IRAP picture.
   * AV1: one temporal unit, OBUs with size fields, no temporal delimiter, the sequence
   * header in front of every key frame. VP8/VP9: one frame as sent. Opus: one packet.
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
  /** H.265 general_profile_idc or AV1 seq_profile, from the bitstream (SPS, sequence header). */
  profileIdc?: number;
  /**
   * Simulcast: each layer (rid) with its size as received, and `layer`, the one whose
   * frames this source hands on (the highest that is being sent).
   */
  layers?: VideoLayerInfo[];
  layer?: string;
}

export interface VideoLayerInfo {
  rid: string;
  width: number | null;
  height: number | null;
}

export interface AudioTrackInfo {
  codec: AudioCodec;
  sampleRate: 48000;
  channels: 1 | 2;
}

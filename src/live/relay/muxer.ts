import type { AudioCodec, AudioTrackInfo, MediaFrame, VideoCodec, VideoTrackInfo } from '../../core/media.js';
import { H264_NAL, h264NalType, splitAnnexB } from '../../core/codecs/h264-access-unit.js';
import { avcDecoderConfig, lengthPrefixed, parseSps } from './matroska/avc.js';
import { av1DecoderConfig } from './matroska/av1.js';
import { hevcDecoderConfig } from './matroska/hevc.js';
import { parseH265Sps } from '../../core/codecs/h265-sps.js';
import { H265_NAL, h265NalType } from '../../core/codecs/h265-access-unit.js';
import { opusHead } from './matroska/opus.js';
import { vp8KeyframeSize, vp9KeyframeSize, type FrameSize } from './matroska/vpx.js';
import { MatroskaLiveWriter, type MkvTrack, type MkvVideoTrack } from './matroska/writer.js';

/** Why a frame produced no bytes. */
export type DropReason =
  /** Before the first usable video key frame, or while resyncing after the consumer fell behind. */
  | 'waiting_for_keyframe'
  /** Earlier than media time 0 of this body (audio that arrived just after the key frame). */
  | 'before_start'
  /** A track the header does not declare (the source changed its tracks mid-session). */
  | 'unknown_track';

export type RelayMuxOutput =
  /** The first bytes of the body: header and the key frame's block. */
  | { type: 'start'; baseUs: number; tracks: RelayTracks; bytes: Buffer; layers?: RelayLayerTrack[] }
  | { type: 'data'; bytes: Buffer }
  | { type: 'drop'; reason: DropReason }
  /** A frame the started body cannot carry (another video codec): end the body; the next one starts afresh. */
  | { type: 'incompatible'; reason: string }
  /** Before the start (passthrough only): the layers cannot be passed through, and why. */
  | { type: 'refuse'; reason: string };

export interface RelayTracks {
  video: VideoCodec | null;
  audio: AudioCodec | null;
  width: number | null;
  height: number | null;
}

/** Passthrough bodies: one video track per layer, largest first (track numbers 1..n). */
export interface RelayLayerTrack {
  /** The simulcast rid; null for a publisher's one encoding. */
  rid: string | null;
  width: number;
  height: number;
}

const CODEC_ID = {
  h264: 'V_MPEG4/ISO/AVC',
  h265: 'V_MPEGH/ISO/HEVC',
  av1: 'V_AV1',
  vp8: 'V_VP8',
  vp9: 'V_VP9',
} as const;

/**
 * One relay body's muxing, as a pure state machine (werift's processor shape): a frame
 * in, bytes (or the reason for none) out. The body starts at a video key frame whose
 * codec configuration is complete; everything before it, audio included, is dropped.
 * Timestamps are rebased so that key frame is 0 and rounded to milliseconds.
 */
export class RelayMuxer {
  readonly #video: VideoTrackInfo | null;
  readonly #audio: AudioTrackInfo | null;
  #writer: MatroskaLiveWriter | null = null;
  #tracks: RelayTracks | null = null;
  #baseUs = 0;
  #resyncing = false;
  #videoTrack = 0;
  #audioTrack = 0;

  constructor(o: { video: VideoTrackInfo | null; audio: AudioTrackInfo | null }) {
    this.#video = o.video;
    this.#audio = o.audio;
  }

  get started(): boolean {
    return this.#writer !== null;
  }

  /** True while only a video key frame can produce bytes: ask the publisher for one. */
  get waitingForKeyframe(): boolean {
    return this.#video !== null && (this.#writer === null || this.#resyncing);
  }

  /** Media time 0 of the body, in the source's microseconds; valid once started. */
  get baseUs(): number {
    return this.#baseUs;
  }

  /**
   * The consumer fell behind: drop every frame until the next video key frame, which
   * continues the same timeline (a gap the decoder can start from).
   */
  resync(): void {
    if (this.#writer !== null && this.#video !== null) this.#resyncing = true;
  }

  push(frame: MediaFrame): RelayMuxOutput {
    if (this.#writer === null) return this.#start(frame);
    const writer = this.#writer;
    if (frame.kind === 'video') {
      if (this.#videoTrack === 0) return { type: 'drop', reason: 'unknown_track' };
      if (frame.codec !== this.#tracks?.video) {
        return { type: 'incompatible', reason: `video codec changed to ${frame.codec}` };
      }
      if (this.#resyncing && !frame.keyframe) return { type: 'drop', reason: 'waiting_for_keyframe' };
      const ms = this.#timeMs(frame);
      if (ms === null) return { type: 'drop', reason: 'before_start' };
      this.#resyncing = false;
      return { type: 'data', bytes: writer.block(this.#videoTrack, ms, frame.keyframe, videoPayload(frame)) };
    }
    if (this.#audioTrack === 0) return { type: 'drop', reason: 'unknown_track' };
    if (this.#resyncing) return { type: 'drop', reason: 'waiting_for_keyframe' };
    const ms = this.#timeMs(frame);
    if (ms === null) return { type: 'drop', reason: 'before_start' };
    return { type: 'data', bytes: writer.block(this.#audioTrack, ms, true, frame.data) };
  }

  #timeMs(frame: MediaFrame): number | null {
    if (frame.timeUs < this.#baseUs) return null;
    return Math.round((frame.timeUs - this.#baseUs) / 1000);
  }

  #start(frame: MediaFrame): RelayMuxOutput {
    const tracks: MkvTrack[] = [];
    let size: FrameSize | null = null;
    if (this.#video !== null) {
      if (frame.kind !== 'video' || !frame.keyframe) return { type: 'drop', reason: 'waiting_for_keyframe' };
      const video = videoTrack(frame, this.#video);
      // An IDR without its parameter sets, or a frame whose size cannot be read: wait for the next.
      if (video === null) return { type: 'drop', reason: 'waiting_for_keyframe' };
      tracks.push(video);
      size = { width: video.width, height: video.height };
      this.#videoTrack = tracks.length;
    } else if (frame.kind !== 'audio') {
      return { type: 'drop', reason: 'unknown_track' };
    }
    if (this.#audio !== null) {
      tracks.push({
        kind: 'audio',
        codecId: 'A_OPUS',
        // WebRTC joins mid-stream: no priming samples to skip.
        codecPrivate: opusHead(this.#audio.channels, this.#audio.sampleRate, 0),
        sampleRate: this.#audio.sampleRate,
        channels: this.#audio.channels,
      });
      this.#audioTrack = tracks.length;
    }
    this.#writer = new MatroskaLiveWriter(tracks);
    this.#baseUs = frame.timeUs;
    this.#tracks = {
      video: this.#video === null ? null : (frame.codec as VideoCodec),
      audio: this.#audio === null ? null : this.#audio.codec,
      width: size?.width ?? null,
      height: size?.height ?? null,
    };
    const first = this.push(frame);
    if (first.type !== 'data') throw new Error(`the starting frame was not muxed: ${first.type}`);
    return {
      type: 'start',
      baseUs: this.#baseUs,
      tracks: this.#tracks,
      bytes: Buffer.concat([this.#writer.header(), first.bytes]),
    };
  }
}

/** A video frame as a block's payload: H.264/H.265 length-prefixed (as the avcC/hvcC say), others as sent. */
export function videoPayload(frame: MediaFrame): Buffer {
  return frame.codec === 'h264' || frame.codec === 'h265'
    ? lengthPrefixed(splitAnnexB(frame.data))
    : frame.data;
}

/** The track entry a key frame describes (parameter sets, size); null when it cannot. */
export function videoTrack(frame: MediaFrame, info: VideoTrackInfo): MkvVideoTrack | null {
  const codec = frame.codec as VideoCodec;
  const known =
    info.width !== null && info.height !== null ? { width: info.width, height: info.height } : null;
  if (codec === 'h264') {
    const units = splitAnnexB(frame.data);
    const sps = units.filter((u) => h264NalType(u) === H264_NAL.sps);
    const pps = units.filter((u) => h264NalType(u) === H264_NAL.pps);
    if (sps.length === 0 || pps.length === 0) return null;
    // The avcC needs a readable SPS anyway, so its size is the one to trust.
    try {
      const { width, height } = parseSps(sps[0] as Buffer);
      return {
        kind: 'video',
        codecId: CODEC_ID.h264,
        codecPrivate: avcDecoderConfig(sps, pps),
        width,
        height,
      };
    } catch {
      return null;
    }
  }
  if (codec === 'h265') return hevcTrack(frame.data);
  if (codec === 'av1') return av1Track(frame.data);
  const size = (codec === 'vp8' ? vp8KeyframeSize(frame.data) : vp9KeyframeSize(frame.data)) ?? known;
  if (size === null || size.width === 0 || size.height === 0) return null;
  return { kind: 'video', codecId: CODEC_ID[codec], ...size };
}

/** The hvcC needs a readable SPS anyway, so its size is the one to trust. */
function hevcTrack(data: Buffer): MkvVideoTrack | null {
  const units = splitAnnexB(data);
  try {
    const { width, height } = parseH265Sps(
      units.find((u) => h265NalType(u) === H265_NAL.sps) ?? Buffer.alloc(0),
    );
    return { kind: 'video', codecId: CODEC_ID.h265, codecPrivate: hevcDecoderConfig(units), width, height };
  } catch {
    return null;
  }
}

function av1Track(data: Buffer): MkvVideoTrack | null {
  try {
    const config = av1DecoderConfig(data);
    return config === null ? null : { kind: 'video', codecId: CODEC_ID.av1, ...config };
  } catch {
    return null;
  }
}

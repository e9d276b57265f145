import type { VideoCodec } from '../../core/media.js';
import { Av1SequenceHeaderCache } from '../../core/codecs/av1-temporal-unit.js';
import { H264ParameterSetCache } from '../../core/codecs/h264-access-unit.js';
import { H265ParameterSetCache } from '../../core/codecs/h265-access-unit.js';
import { parseVp8Frame, parseVp9Frame } from '../../core/codecs/vpx-frame.js';

/** A depacketized video frame after a look at its bitstream. */
export interface ParsedVideoFrame {
  data: Buffer;
  keyframe: boolean;
  /** False when no decoder could use it (no parameter sets yet, not a frame of this codec). */
  decodable: boolean;
  /** Set when the frame carried them (SPS, sequence header, VP8/VP9 key frame header). */
  width?: number;
  height?: number;
  profile?: string;
  /** H.264: the SPS's profile-level-id. */
  profileLevelId?: string;
  /** H.265 general_profile_idc, AV1 seq_profile. */
  profileIdc?: number;
  level?: string;
  /** H.265 and AV1: `Main` or `High`. */
  tier?: string;
}

export interface VideoFrameParser {
  parse(data: Buffer): ParsedVideoFrame;
}

class H264Parser implements VideoFrameParser {
  readonly #sets = new H264ParameterSetCache();

  parse(data: Buffer): ParsedVideoFrame {
    const f = this.#sets.process(data);
    const out: ParsedVideoFrame = { data: f.data, keyframe: f.keyframe, decodable: f.decodable };
    if (f.sps) {
      out.width = f.sps.width;
      out.height = f.sps.height;
      out.profile = f.sps.profile;
      out.profileLevelId = f.sps.profileLevelId;
      out.level = String(f.sps.levelIdc / 10);
    }
    return out;
  }
}

class H265Parser implements VideoFrameParser {
  readonly #sets: H265ParameterSetCache;

  constructor(parameterSets: readonly Buffer[]) {
    this.#sets = new H265ParameterSetCache(parameterSets);
  }

  parse(data: Buffer): ParsedVideoFrame {
    const f = this.#sets.process(data);
    const out: ParsedVideoFrame = { data: f.data, keyframe: f.keyframe, decodable: f.decodable };
    // Out-of-band parameter sets (sprop-sps) count for the first key frame too.
    const sps = f.sps ?? (f.keyframe ? this.#sets.info : null);
    if (sps) {
      Object.assign(out, { width: sps.width, height: sps.height, profile: sps.profile });
      Object.assign(out, { profileIdc: sps.profileIdc, level: sps.level, tier: sps.tier });
    }
    return out;
  }
}

class Av1Parser implements VideoFrameParser {
  readonly #headers = new Av1SequenceHeaderCache();

  parse(data: Buffer): ParsedVideoFrame {
    let f;
    try {
      f = this.#headers.process(data);
    } catch {
      return { data, keyframe: false, decodable: false };
    }
    const out: ParsedVideoFrame = { data: f.data, keyframe: f.keyframe, decodable: f.decodable };
    const h = f.sequenceHeader;
    if (h) {
      Object.assign(out, { width: h.width, height: h.height, profile: h.profile });
      Object.assign(out, { profileIdc: h.seqProfile, level: h.level, tier: h.tier === 1 ? 'High' : 'Main' });
    }
    return out;
  }
}

class VpxParser implements VideoFrameParser {
  readonly #read: typeof parseVp8Frame;

  constructor(read: typeof parseVp8Frame) {
    this.#read = read;
  }

  parse(data: Buffer): ParsedVideoFrame {
    const info = this.#read(data);
    if (!info) return { data, keyframe: false, decodable: false };
    const out: ParsedVideoFrame = { data, keyframe: info.keyframe, decodable: true };
    if (info.width !== null && info.height !== null) {
      out.width = info.width;
      out.height = info.height;
    }
    return out;
  }
}

/** `parameterSets`: H.265 VPS/SPS/PPS from the SDP (sprop-*), NAL units without start codes. */
export function videoFrameParser(codec: VideoCodec, parameterSets: readonly Buffer[] = []): VideoFrameParser {
  switch (codec) {
    case 'h264':
      return new H264Parser();
    case 'h265':
      return new H265Parser(parameterSets);
    case 'av1':
      return new Av1Parser();
    case 'vp8':
      return new VpxParser(parseVp8Frame);
    case 'vp9':
      return new VpxParser(parseVp9Frame);
  }
}

import type { VideoCodec } from '../../core/media.js';
import { H264ParameterSetCache } from '../../core/codecs/h264-access-unit.js';
import { parseVp8Frame, parseVp9Frame } from '../../core/codecs/vpx-frame.js';

/** A depacketized video frame after a look at its bitstream. */
export interface ParsedVideoFrame {
  data: Buffer;
  keyframe: boolean;
  /** False when no decoder could use it (no parameter sets yet, not a frame of this codec). */
  decodable: boolean;
  /** Set when the frame carried them (H.264 SPS, VP8/VP9 key frame header). */
  width?: number;
  height?: number;
  profile?: string;
  profileLevelId?: string;
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

export function videoFrameParser(codec: VideoCodec): VideoFrameParser {
  switch (codec) {
    case 'h264':
      return new H264Parser();
    case 'vp8':
      return new VpxParser(parseVp8Frame);
    case 'vp9':
      return new VpxParser(parseVp9Frame);
  }
}

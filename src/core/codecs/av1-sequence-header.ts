import { BitReader, BitstreamError } from './bit-reader.js';

/**
 * What ingest and the av1C need of an AV1 sequence header OBU (AV1 bitstream
 * specification 5.5): profile, level and tier of operating point 0, the colour config
 * that av1C copies (AV1 Codec ISO Media File Format Binding 2.3.3), and the size.
 */
export interface Av1SequenceHeader {
  seqProfile: number;
  /** seq_level_idx[0]. */
  levelIdx: number;
  /** seq_tier[0]. */
  tier: number;
  /** `Main`, `High`, `Professional`. */
  profile: string;
  /** Annex A.3: seq_level_idx 8 is level 4.0 (2 + (idx >> 2) . idx & 3). */
  level: string;
  reducedStillPictureHeader: boolean;
  highBitdepth: boolean;
  twelveBit: boolean;
  monochrome: boolean;
  subsamplingX: number;
  subsamplingY: number;
  chromaSamplePosition: number;
  /**
   * max_frame_width_minus_1 + 1 and the height: the largest frame of the sequence. WebRTC
   * encoders (libaom, libdatachannel's senders) write a new sequence header when the size
   * changes, so this is the coded size.
   */
  width: number;
  height: number;
}

const PROFILE_NAMES = ['Main', 'High', 'Professional'];

export function av1LevelName(levelIdx: number): string {
  if (levelIdx === 31) return 'max';
  return `${2 + (levelIdx >> 2)}.${levelIdx & 3}`;
}

/** uvlc() (4.10.3). */
function uvlc(r: BitReader): number {
  let zeros = 0;
  while (r.u1() === 0) {
    if (++zeros >= 32) return 2 ** 32 - 1;
  }
  return r.u(zeros) + 2 ** zeros - 1;
}

/** Parses the payload of a sequence header OBU (after its header and size). Throws a BitstreamError. */
export function parseAv1SequenceHeader(payload: Uint8Array): Av1SequenceHeader {
  const r = new BitReader(payload);
  const seqProfile = r.u(3);
  if (seqProfile > 2) throw new BitstreamError(`seq_profile ${seqProfile} is reserved`);
  r.u1(); // still_picture
  const reduced = r.u1() === 1;
  let levelIdx: number;
  let tier = 0;
  if (reduced) {
    levelIdx = r.u(5);
  } else {
    let decoderModelInfo = false;
    let bufferDelayLength = 0;
    if (r.u1() === 1) {
      // timing_info()
      r.skip(64); // num_units_in_display_tick, time_scale
      if (r.u1() === 1) uvlc(r); // equal_picture_interval: num_ticks_per_picture_minus_1
      decoderModelInfo = r.u1() === 1;
      if (decoderModelInfo) {
        bufferDelayLength = r.u(5) + 1;
        r.skip(32 + 5 + 5); // num_units_in_decoding_tick, two length fields
      }
    }
    const initialDisplayDelay = r.u1() === 1;
    const operatingPoints = r.u(5) + 1;
    levelIdx = 0;
    for (let i = 0; i < operatingPoints; i++) {
      r.skip(12); // operating_point_idc
      const idx = r.u(5);
      const t = idx > 7 ? r.u1() : 0;
      if (i === 0) {
        levelIdx = idx;
        tier = t;
      }
      if (decoderModelInfo && r.u1() === 1) r.skip(2 * bufferDelayLength + 1);
      if (initialDisplayDelay && r.u1() === 1) r.skip(4);
    }
  }
  const widthBits = r.u(4) + 1;
  const heightBits = r.u(4) + 1;
  const width = r.u(widthBits) + 1;
  const height = r.u(heightBits) + 1;
  if (!reduced && r.u1() === 1) r.skip(4 + 3); // frame_id_numbers_present_flag: two lengths
  r.skip(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    r.skip(4); // interintra, masked compound, warped motion, dual filter
    const orderHint = r.u1() === 1;
    if (orderHint) r.skip(2); // enable_jnt_comp, enable_ref_frame_mvs
    // seq_choose_screen_content_tools: SELECT_SCREEN_CONTENT_TOOLS (2), else read.
    const screenContent = r.u1() === 1 ? 2 : r.u1();
    if (screenContent > 0 && r.u1() === 0) r.skip(1); // seq_choose_integer_mv, seq_force_integer_mv
    if (orderHint) r.skip(3); // order_hint_bits_minus_1
  }
  r.skip(3); // enable_superres, enable_cdef, enable_restoration
  // color_config() (5.5.2)
  const highBitdepth = r.u1() === 1;
  const twelveBit = seqProfile === 2 && highBitdepth ? r.u1() === 1 : false;
  const monochrome = seqProfile === 1 ? false : r.u1() === 1;
  let cp = 2;
  let tc = 2;
  let mc = 2;
  if (r.u1() === 1) {
    cp = r.u(8);
    tc = r.u(8);
    mc = r.u(8);
  }
  let subsamplingX = 1;
  let subsamplingY = 1;
  let chromaSamplePosition = 0;
  if (monochrome) {
    r.u1(); // color_range
  } else if (cp === 1 && tc === 13 && mc === 0) {
    // sRGB: 4:4:4, full range.
    subsamplingX = 0;
    subsamplingY = 0;
  } else {
    r.u1(); // color_range
    if (seqProfile === 1) {
      subsamplingX = 0;
      subsamplingY = 0;
    } else if (seqProfile === 2) {
      if (twelveBit) {
        subsamplingX = r.u1();
        subsamplingY = subsamplingX === 1 ? r.u1() : 0;
      } else {
        subsamplingY = 0;
      }
    }
    if (subsamplingX === 1 && subsamplingY === 1) chromaSamplePosition = r.u(2);
  }
  return {
    seqProfile,
    levelIdx,
    tier,
    profile: PROFILE_NAMES[seqProfile]!,
    level: av1LevelName(levelIdx),
    reducedStillPictureHeader: reduced,
    highBitdepth,
    twelveBit,
    monochrome,
    subsamplingX,
    subsamplingY,
    chromaSamplePosition,
    width,
    height,
  };
}

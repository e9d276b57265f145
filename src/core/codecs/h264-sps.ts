import { BitReader, BitstreamError, nalToRbsp } from './bit-reader.js';

/** What ingest needs of an H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1). */
export interface H264Sps {
  profileIdc: number;
  /** constraint_set0..5 flags and the two reserved bits, as the byte after profile_idc. */
  constraintFlags: number;
  levelIdc: number;
  /** `profile_idc constraint_flags level_idc` as six lower-case hex digits, e.g. `64001f`. */
  profileLevelId: string;
  /** A readable profile name (`High`, `Constrained Baseline`, ...). */
  profile: string;
  /** Decoded picture size after the SPS frame cropping, in pixels. */
  width: number;
  height: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  /** False for interlaced (field or MBAFF) coding. */
  frameMbsOnly: boolean;
}

/** The profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

const PROFILE_NAMES: Record<number, string> = {
  66: 'Baseline',
  77: 'Main',
  88: 'Extended',
  100: 'High',
  110: 'High 10',
  122: 'High 4:2:2',
  244: 'High 4:4:4 Predictive',
  44: 'CAVLC 4:4:4 Intra',
};

export function h264ProfileName(profileIdc: number, constraintFlags: number): string {
  // constraint_set1_flag on Baseline: Constrained Baseline (A.2.2).
  if (profileIdc === 66 && (constraintFlags & 0x40) !== 0) return 'Constrained Baseline';
  return PROFILE_NAMES[profileIdc] ?? `profile_idc ${profileIdc}`;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      const delta = r.se();
      if (delta < -128 || delta > 127) throw new BitstreamError(`delta_scale ${delta} is outside -128..127`);
      next = (last + delta + 256) % 256;
    }
    last = next === 0 ? last : next;
  }
}

const MAX_DIMENSION = 16_384;

/**
 * Parses an SPS NAL unit (with its one-byte NAL header, without a start code). Throws a
 * BitstreamError when the unit is not an SPS, is truncated, or holds values outside the
 * ranges the standard allows.
 */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  if (nal.length < 4 || ((nal[0] ?? 0) & 0x1f) !== 7) throw new BitstreamError('not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(nal.subarray(1)));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  r.ueIn(0, 31, 'seq_parameter_set_id');

  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ueIn(0, 3, 'chroma_format_idc');
    if (chromaFormatIdc === 3) separateColourPlane = r.u1() === 1;
    bitDepthLuma = 8 + r.ueIn(0, 6, 'bit_depth_luma_minus8');
    r.ueIn(0, 6, 'bit_depth_chroma_minus8');
    r.u1(); // qpprime_y_zero_transform_bypass_flag
    if (r.u1() === 1) {
      // seq_scaling_matrix_present_flag: 6 4x4 lists, then 2 (or 6 for 4:4:4) 8x8 lists.
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (r.u1() === 1) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ueIn(0, 12, 'log2_max_frame_num_minus4');
  const pocType = r.ueIn(0, 2, 'pic_order_cnt_type');
  if (pocType === 0) {
    r.ueIn(0, 12, 'log2_max_pic_order_cnt_lsb_minus4');
  } else if (pocType === 1) {
    r.u1(); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ueIn(0, 255, 'num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.u1(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u1() === 1;
  if (!frameMbsOnly) r.u1(); // mb_adaptive_frame_field_flag
  r.u1(); // direct_8x8_inference_flag

  let width = widthMbs * 16;
  let height = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16;
  if (r.u1() === 1) {
    // frame_cropping_flag: offsets in crop units (7.4.2.1.1, equations 7-19 to 7-22).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaFormatIdc === 3 ? 1 : 2;
    const subHeightC = chromaFormatIdc === 1 ? 2 : 1;
    const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
    const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
    const left = r.ue();
    const right = r.ue();
    const top = r.ue();
    const bottom = r.ue();
    width -= (left + right) * cropUnitX;
    height -= (top + bottom) * cropUnitY;
  }
  if (width <= 0 || height <= 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw new BitstreamError(`picture size ${width}x${height} is out of range`);
  }
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    profileLevelId: `${hex(profileIdc)}${hex(constraintFlags)}${hex(levelIdc)}`,
    profile: h264ProfileName(profileIdc, constraintFlags),
    width,
    height,
    chromaFormatIdc,
    bitDepthLuma,
    frameMbsOnly,
  };
}

import { BitReader, BitstreamError, nalToRbsp } from './bit-reader.js';

/**
 * What ingest and the hvcC need of an H.265 sequence parameter set (ITU-T H.265
 * 7.3.2.2.1, with profile_tier_level() of 7.3.3): the profile, tier and level that
 * `GET /api/streams` shows, the picture size after the conformance window, and the
 * fields an HEVCDecoderConfigurationRecord copies (ISO/IEC 14496-15 8.3.3.1).
 */
export interface H265Sps {
  /** general_profile_space, general_tier_flag, general_profile_idc. */
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  /** general_profile_compatibility_flag[0..31] as one 32-bit number. */
  profileCompatibility: number;
  /** The 48 bits from general_progressive_source_flag on, as 6 bytes. */
  constraintFlags: Buffer;
  levelIdc: number;
  /** `Main`, `Main 10`, ... */
  profile: string;
  /** general_level_idc / 30, e.g. `3.1`. */
  level: string;
  tier: 'Main' | 'High';
  maxSubLayersMinus1: number;
  temporalIdNesting: boolean;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Decoded picture size after the conformance window, in pixels. */
  width: number;
  height: number;
}

const PROFILE_NAMES: Record<number, string> = {
  1: 'Main',
  2: 'Main 10',
  3: 'Main Still Picture',
  4: 'Range Extensions',
  5: 'High Throughput',
  9: 'Screen Content Coding',
};

const MAX_DIMENSION = 16_384;

/** nal_unit_type of an SPS (ITU-T H.265 table 7-1). */
const SPS_NUT = 33;

/** profile_tier_level(1, maxNumSubLayersMinus1): the general part read, the sub-layer part skipped. */
function profileTierLevel(r: BitReader, maxSubLayersMinus1: number) {
  const profileSpace = r.u(2);
  const tierFlag = r.u1();
  const profileIdc = r.u(5);
  const profileCompatibility = r.u(32);
  const constraintFlags = Buffer.alloc(6);
  for (let i = 0; i < 6; i++) constraintFlags[i] = r.u(8);
  const levelIdc = r.u(8);
  const subProfile: number[] = [];
  const subLevel: number[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfile.push(r.u1());
    subLevel.push(r.u1());
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.skip(2); // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfile[i] === 1) r.skip(88);
    if (subLevel[i] === 1) r.skip(8);
  }
  return { profileSpace, tierFlag, profileIdc, profileCompatibility, constraintFlags, levelIdc };
}

/** general_level_idc is 30 times the level number (A.4.1): 93 is 3.1, 120 is 4. */
export function h265LevelName(levelIdc: number): string {
  const tenths = Math.round(levelIdc / 3);
  return tenths % 10 === 0 ? String(tenths / 10) : (tenths / 10).toFixed(1);
}

export function h265ProfileName(profileIdc: number): string {
  return PROFILE_NAMES[profileIdc] ?? `general_profile_idc ${profileIdc}`;
}

/**
 * Parses an SPS NAL unit (its two-byte NAL header first, no start code). Throws a
 * BitstreamError when the unit is not an SPS, is truncated, or holds values outside the
 * ranges the standard allows.
 */
export function parseH265Sps(nal: Uint8Array): H265Sps {
  if (nal.length < 4 || (((nal[0] ?? 0) >> 1) & 0x3f) !== SPS_NUT)
    throw new BitstreamError('not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(nal.subarray(2)));
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  if (maxSubLayersMinus1 > 6)
    throw new BitstreamError(`sps_max_sub_layers_minus1 ${maxSubLayersMinus1} is over 6`);
  const temporalIdNesting = r.u1() === 1;
  const ptl = profileTierLevel(r, maxSubLayersMinus1);
  r.ueIn(0, 15, 'sps_seq_parameter_set_id');
  const chromaFormatIdc = r.ueIn(0, 3, 'chroma_format_idc');
  const separateColourPlane = chromaFormatIdc === 3 ? r.u1() === 1 : false;
  let width = r.ue();
  let height = r.ue();
  if (r.u1() === 1) {
    // conformance_window_flag: offsets in chroma units (7.4.3.2.1, table 6-1).
    const single = chromaFormatIdc === 0 || separateColourPlane;
    const subWidthC = single || chromaFormatIdc === 3 ? 1 : 2;
    const subHeightC = single || chromaFormatIdc !== 1 ? 1 : 2;
    const left = r.ue();
    const right = r.ue();
    const top = r.ue();
    const bottom = r.ue();
    width -= subWidthC * (left + right);
    height -= subHeightC * (top + bottom);
  }
  const bitDepthLuma = 8 + r.ueIn(0, 8, 'bit_depth_luma_minus8');
  const bitDepthChroma = 8 + r.ueIn(0, 8, 'bit_depth_chroma_minus8');
  if (width <= 0 || height <= 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw new BitstreamError(`picture size ${width}x${height} is out of range`);
  }
  return {
    ...ptl,
    profile: h265ProfileName(ptl.profileIdc),
    level: h265LevelName(ptl.levelIdc),
    tier: ptl.tierFlag === 1 ? 'High' : 'Main',
    maxSubLayersMinus1,
    temporalIdNesting,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width,
    height,
  };
}

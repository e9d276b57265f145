import { BitReader, nalToRbsp } from '../../../core/codecs/bit-reader.js';
import { H264_NAL, h264NalType } from '../../../core/codecs/h264-access-unit.js';

/**
 * H.264 for Matroska (`V_MPEG4/ISO/AVC`): blocks hold length-prefixed NAL units, and
 * CodecPrivate holds an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) built
 * from the SPS and PPS that ingest puts in front of every IDR. The parameter sets stay
 * in the blocks too, so a publisher that changes resolution mid-stream (WebRTC senders
 * do under load) reaches the decoder with its new SPS.
 */

/** NAL units with 4-byte big-endian lengths (lengthSizeMinusOne = 3 in the avcC). */
export function lengthPrefixed(units: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const u of units) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(u.length);
    parts.push(len, u);
  }
  return Buffer.concat(parts);
}

export interface SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Display size, after frame cropping. */
  width: number;
  height: number;
}

/** Profiles whose SPS carries chroma format and bit depth (7.3.2.1.1), and whose avcC has the extension. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses the fields of a sequence parameter set (ITU-T H.264 7.3.2.1.1) that the container needs. */
export function parseSps(unit: Uint8Array): SpsInfo {
  if (h264NalType(unit) !== H264_NAL.sps) throw new RangeError('not an SPS NAL unit');
  const r = new BitReader(nalToRbsp(unit).subarray(1));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) separateColourPlane = r.u1();
    bitDepthLuma = r.ue() + 8;
    bitDepthChroma = r.ue() + 8;
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.u1() === 1) {
      // seq_scaling_matrix_present_flag: skip the lists (7.3.2.1.1.1).
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (r.u1() === 1) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    r.ue(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.skip(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue();
    for (let i = 0; i < cycle; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.u1();
  if (frameMbsOnly === 0) r.skip(1); // mb_adaptive_frame_field_flag
  r.skip(1); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.u1() === 1) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  // Crop units, Table 6-1 and equations 7-19 to 7-22.
  const chromaArrayType = separateColourPlane === 1 ? 0 : chromaFormatIdc;
  const subWidthC = chromaFormatIdc === 3 ? 1 : 2;
  const subHeightC = chromaFormatIdc === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (2 - frameMbsOnly);
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width: widthMbs * 16 - cropUnitX * (crop.left + crop.right),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom),
  };
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** AVCDecoderConfigurationRecord with lengthSizeMinusOne = 3. */
export function avcDecoderConfig(sps: readonly Buffer[], pps: readonly Buffer[]): Buffer {
  const first = sps[0];
  if (first === undefined || pps.length === 0)
    throw new RangeError('an avcC needs at least one SPS and one PPS');
  if (sps.length > 31 || pps.length > 255) throw new RangeError('too many parameter sets');
  const info = parseSps(first);
  const parts: Buffer[] = [
    Buffer.from([1, info.profileIdc, info.constraintFlags, info.levelIdc, 0xfc | 3, 0xe0 | sps.length]),
  ];
  const withLength = (u: Buffer) => {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(u.length);
    parts.push(len, u);
  };
  sps.forEach(withLength);
  parts.push(Buffer.from([pps.length]));
  pps.forEach(withLength);
  if (HIGH_PROFILES.has(info.profileIdc)) {
    parts.push(
      Buffer.from([
        0xfc | info.chromaFormatIdc,
        0xf8 | (info.bitDepthLuma - 8),
        0xf8 | (info.bitDepthChroma - 8),
        0, // numOfSequenceParameterSetExt
      ]),
    );
  }
  return Buffer.concat(parts);
}

import { H265_NAL, h265NalType } from '../../../core/codecs/h265-access-unit.js';
import { parseH265Sps } from '../../../core/codecs/h265-sps.js';

/**
 * H.265 for Matroska (`V_MPEGH/ISO/HEVC`): blocks hold length-prefixed NAL units (as for
 * H.264, see avc.ts lengthPrefixed), and CodecPrivate holds an
 * HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1) built from the VPS, SPS and
 * PPS that ingest puts in front of every IRAP picture. The sets stay in the blocks too.
 */

const ARRAY_ORDER = [H265_NAL.vps, H265_NAL.sps, H265_NAL.pps];

/** hvcC with lengthSizeMinusOne = 3 and one array per parameter set type. Throws on a missing or unreadable SPS. */
export function hevcDecoderConfig(units: readonly Buffer[]): Buffer {
  const sets = ARRAY_ORDER.map((type) => units.filter((u) => h265NalType(u) === type));
  if (sets.some((s) => s.length === 0)) throw new RangeError('an hvcC needs a VPS, an SPS and a PPS');
  const sps = parseH265Sps(sets[1]![0]!);
  const head = Buffer.alloc(23);
  head[0] = 1; // configurationVersion
  head[1] = (sps.profileSpace << 6) | (sps.tierFlag << 5) | sps.profileIdc;
  head.writeUInt32BE(sps.profileCompatibility >>> 0, 2);
  sps.constraintFlags.copy(head, 6);
  head[12] = sps.levelIdc;
  head.writeUInt16BE(0xf000, 13); // reserved 1111, min_spatial_segmentation_idc 0
  head[15] = 0xfc; // reserved 111111, parallelismType 0 (unknown)
  head[16] = 0xfc | sps.chromaFormatIdc;
  head[17] = 0xf8 | (sps.bitDepthLuma - 8);
  head[18] = 0xf8 | (sps.bitDepthChroma - 8);
  head.writeUInt16BE(0, 19); // avgFrameRate: unspecified
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
  head[21] = ((sps.maxSubLayersMinus1 + 1) << 3) | ((sps.temporalIdNesting ? 1 : 0) << 2) | 3;
  head[22] = 3; // numOfArrays
  const parts: Buffer[] = [head];
  ARRAY_ORDER.forEach((type, i) => {
    const list = sets[i]!;
    const array = Buffer.alloc(3);
    array[0] = 0x80 | type; // array_completeness 1: every set of this type is here
    array.writeUInt16BE(list.length, 1);
    parts.push(array);
    for (const u of list) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(u.length);
      parts.push(len, u);
    }
  });
  return Buffer.concat(parts);
}

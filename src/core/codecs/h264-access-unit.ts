import { parseH264Sps, type H264Sps } from './h264-sps.js';

/** nal_unit_type values ingest looks at (ITU-T H.264 table 7-1). */
export const H264_NAL = { slice: 1, idr: 5, sei: 6, sps: 7, pps: 8, aud: 9 } as const;

const START_CODE = Buffer.from([0, 0, 0, 1]);

export function h264NalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

/** The NAL units of an Annex-B byte stream, without start codes (3- or 4-byte codes alike). */
export function splitAnnexB(data: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < data.length) {
    if (data[i + 2]! > 1) {
      i += 3;
    } else if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) units.push(trimTrailingZeros(data.subarray(start, i)));
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start >= 0) units.push(trimTrailingZeros(data.subarray(start)));
  return units.filter((u) => u.length > 0);
}

/** The first zero of a 4-byte start code (and trailing_zero_8bits) belong to no NAL unit. */
function trimTrailingZeros(u: Buffer): Buffer {
  let end = u.length;
  while (end > 0 && u[end - 1] === 0) end--;
  return u.subarray(0, end);
}

export function joinAnnexB(units: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const u of units) parts.push(START_CODE, u);
  return Buffer.concat(parts);
}

export interface H264Frame {
  /** The access unit in Annex-B form; SPS and PPS are in front of every IDR. */
  data: Buffer;
  /** Holds an IDR slice, with parameter sets a decoder can start from. */
  keyframe: boolean;
  /** False when the unit cannot be decoded: no SPS and PPS were ever seen (drop it). */
  decodable: boolean;
  /** The SPS this unit carried, when it carried one that parsed. */
  sps: H264Sps | null;
}

/**
 * Keeps the last SPS and PPS of a publisher and puts them in front of an IDR that came
 * without them (RFC 6184 allows sending them out of band or only once; a decoder that
 * joins at any IDR needs them in the access unit). Pure: one instance per video track.
 */
export class H264ParameterSetCache {
  #sps: Buffer | null = null;
  #pps: Buffer | null = null;
  /** The last SPS that parsed. */
  info: H264Sps | null = null;

  /** Processes one access unit in Annex-B form (as werift's depacketizer emits it). */
  process(data: Buffer): H264Frame {
    const units = splitAnnexB(data);
    let hasSps = false;
    let hasPps = false;
    let hasIdr = false;
    let hasSlice = false;
    let sps: H264Sps | null = null;
    for (const u of units) {
      switch (h264NalType(u)) {
        case H264_NAL.sps:
          hasSps = true;
          this.#sps = Buffer.from(u);
          try {
            sps = parseH264Sps(u);
            this.info = sps;
          } catch {
            // Keep the bytes: a decoder may still read what this parser could not.
          }
          break;
        case H264_NAL.pps:
          hasPps = true;
          this.#pps = Buffer.from(u);
          break;
        case H264_NAL.idr:
          hasIdr = true;
          hasSlice = true;
          break;
        default:
          // Types 1 to 4: non-IDR slices and slice data partitions.
          if (h264NalType(u) >= H264_NAL.slice && h264NalType(u) < H264_NAL.idr) hasSlice = true;
      }
    }
    const haveSets = this.#sps !== null && this.#pps !== null;
    if (!hasIdr) {
      return { data, keyframe: false, decodable: haveSets && hasSlice, sps };
    }
    if (!haveSets) return { data, keyframe: false, decodable: false, sps };
    if (hasSps && hasPps) return { data, keyframe: true, decodable: true, sps };
    // Insert the missing sets after an access unit delimiter (which must come first), else at the front.
    const missing = [...(hasSps ? [] : [this.#sps!]), ...(hasPps ? [] : [this.#pps!])];
    const at = h264NalType(units[0] ?? Buffer.alloc(1)) === H264_NAL.aud ? 1 : 0;
    const out = [...units.slice(0, at), ...missing, ...units.slice(at)];
    return { data: joinAnnexB(out), keyframe: true, decodable: true, sps };
  }
}

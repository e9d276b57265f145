import { joinAnnexB, splitAnnexB } from './h264-access-unit.js';
import { parseH265Sps, type H265Sps } from './h265-sps.js';

/** nal_unit_type values ingest looks at (ITU-T H.265 table 7-1). */
export const H265_NAL = { vps: 32, sps: 33, pps: 34, aud: 35 } as const;

export function h265NalType(nal: Uint8Array): number {
  return ((nal[0] ?? 0) >> 1) & 0x3f;
}

/** IRAP pictures (BLA, IDR, CRA: types 16 to 23): a decoder can start at one. */
export const isH265Irap = (type: number): boolean => type >= 16 && type <= 23;
/** VCL NAL units (slices): types 0 to 31. */
export const isH265Vcl = (type: number): boolean => type <= 31;

export interface H265Frame {
  /** The access unit in Annex-B form; VPS, SPS and PPS are in front of every IRAP picture. */
  data: Buffer;
  /** Holds an IRAP picture, with parameter sets a decoder can start from. */
  keyframe: boolean;
  /** False when the unit cannot be decoded: no VPS, SPS and PPS were ever seen (drop it). */
  decodable: boolean;
  /** The SPS this unit carried, when it carried one that parsed. */
  sps: H265Sps | null;
}

/**
 * Keeps the last VPS, SPS and PPS of a publisher and puts them in front of an IRAP
 * picture that came without them: RFC 7798 lets a sender give them out of band
 * (sprop-vps, sprop-sps, sprop-pps, which seed the cache) or in band only now and then,
 * while a decoder that joins at any IRAP picture needs them in the access unit. Pure:
 * one instance per video track.
 */
export class H265ParameterSetCache {
  readonly #sets = new Map<number, Buffer>();
  /** The last SPS that parsed. */
  info: H265Sps | null = null;

  /** `units`: parameter sets from the SDP (sprop-*), NAL units without start codes. */
  constructor(units: readonly Buffer[] = []) {
    for (const u of units) this.#remember(u);
  }

  #remember(u: Buffer): H265Sps | null {
    const type = h265NalType(u);
    if (type !== H265_NAL.vps && type !== H265_NAL.sps && type !== H265_NAL.pps) return null;
    this.#sets.set(type, Buffer.from(u));
    if (type !== H265_NAL.sps) return null;
    try {
      this.info = parseH265Sps(u);
      return this.info;
    } catch {
      // Keep the bytes: a decoder may still read what this parser could not.
      return null;
    }
  }

  /** Processes one access unit in Annex-B form (as the depacketizer emits it). */
  process(data: Buffer): H265Frame {
    const units = splitAnnexB(data);
    const present = new Set<number>();
    let irap = false;
    let vcl = false;
    let sps: H265Sps | null = null;
    for (const u of units) {
      const type = h265NalType(u);
      present.add(type);
      sps = this.#remember(u) ?? sps;
      if (isH265Vcl(type)) vcl = true;
      if (isH265Irap(type)) irap = true;
    }
    const setTypes = [H265_NAL.vps, H265_NAL.sps, H265_NAL.pps];
    const haveSets = setTypes.every((t) => this.#sets.has(t));
    if (!irap) return { data, keyframe: false, decodable: haveSets && vcl, sps };
    if (!haveSets) return { data, keyframe: false, decodable: false, sps };
    const missing = setTypes.filter((t) => !present.has(t)).map((t) => this.#sets.get(t)!);
    if (missing.length === 0) return { data, keyframe: true, decodable: true, sps };
    // After an access unit delimiter, which must come first (7.4.2.4.4), else at the front.
    const at = h265NalType(units[0] ?? Buffer.alloc(2)) === H265_NAL.aud ? 1 : 0;
    const out = [...units.slice(0, at), ...missing, ...units.slice(at)];
    return { data: joinAnnexB(out), keyframe: true, decodable: true, sps };
  }
}

import { joinAnnexB } from '../../core/codecs/h264-access-unit.js';

/**
 * RFC 7798 (RTP payload format for H.265) to Annex-B, for the packets of one access
 * unit in sequence order. werift 0.24.4 has no H.265 depacketizer, hence this one.
 *
 * Payload types (4.4): 0-47 a single NAL unit; 48 an aggregation packet (2-byte sizes,
 * each followed by a NAL unit); 49 a fragmentation unit (S/E bits and the NAL type in
 * the FU header, the NAL header rebuilt from the payload header). DONL and DOND fields
 * are present only when sprop-max-don-diff > 0, which negotiation refuses, so they are
 * never read here. PACI packets (50) carry only optional extensions a decoder may
 * ignore; they are refused like malformed input (the frame is dropped).
 */

const AP = 48;
const FU = 49;

/** A payload this depacketizer cannot turn into NAL units. */
export class H265PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'H265PayloadError';
  }
}

export function depacketizeH265(payloads: readonly Buffer[]): Buffer {
  const units: Buffer[] = [];
  let fragments: Buffer[] | null = null;
  for (const p of payloads) {
    if (p.length < 3) throw new H265PayloadError('payload shorter than a NAL header');
    if ((p[0]! & 0x80) !== 0) throw new H265PayloadError('forbidden_zero_bit is set');
    const type = (p[0]! >> 1) & 0x3f;
    if (type === FU) {
      const fu = p[2]!;
      const start = (fu & 0x80) !== 0;
      const end = (fu & 0x40) !== 0;
      if (start) {
        // RFC 7798 4.4.3: "a Start bit and an End bit MUST NOT both be set to 1 in the same FU header".
        if (end) throw new H265PayloadError('FU with both S and E set');
        if (fragments) throw new H265PayloadError('FU start before the previous NAL unit ended');
        // The NAL header: F and LayerId from the payload header, the type from the FU header.
        const header = Buffer.from([(p[0]! & 0x81) | ((fu & 0x3f) << 1), p[1]!]);
        fragments = [header, p.subarray(3)];
      } else {
        if (!fragments) throw new H265PayloadError('FU continuation without its start');
        fragments.push(p.subarray(3));
      }
      if (end) {
        units.push(Buffer.concat(fragments));
        fragments = null;
      }
      continue;
    }
    if (fragments) throw new H265PayloadError('NAL unit before the fragmented one ended');
    if (type === AP) {
      let i = 2;
      while (i < p.length) {
        if (i + 2 > p.length) throw new H265PayloadError('aggregation packet cut in a size field');
        const size = p.readUInt16BE(i);
        i += 2;
        if (size < 2 || i + size > p.length) throw new H265PayloadError('aggregation unit size out of range');
        units.push(p.subarray(i, i + size));
        i += size;
      }
      continue;
    }
    if (type > FU) throw new H265PayloadError(`payload type ${type} is not supported`);
    units.push(p);
  }
  if (fragments) throw new H265PayloadError('the last fragmented NAL unit has no end');
  return joinAnnexB(units);
}

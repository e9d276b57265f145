import { RtpHeader, RtpPacket } from 'werift';

// NAL unit types (ITU-T H.264 table 7-1) and RTP packet types (RFC 6184 5.2).
const NAL_SPS = 7;
const NAL_PPS = 8;
const NAL_AUD = 9;
const STAP_A = 24;
const FU_A = 28;

const FU_START = 0x80;
const FU_END = 0x40;

export interface H264PacketizerOptions {
  /** @defaultValue 96 */
  payloadType?: number;
  /** Most RTP payload bytes in one packet, RTP header excluded. @defaultValue 1200 */
  mtu?: number;
  /** Sequence number of the first packet; RFC 3550 5.1 wants it random, so the caller picks it. @defaultValue 0 */
  initialSeq?: number;
  /** @defaultValue 0 */
  ssrc?: number;
}

export interface H264ParameterSets {
  sps: Buffer[];
  pps: Buffer[];
}

/**
 * Access units in AVCC form (length-prefixed NAL units, as in MP4 samples) to RTP
 * packets, RFC 6184 packetization-mode=1: a NAL unit that fits is a single NAL unit
 * packet, a larger one goes in FU-A fragments. Parameter sets passed with a sync sample
 * go first, in one STAP-A when they fit, so a viewer joining there can decode, and the
 * first packet of the key frame is one that startsKeyframe() recognises.
 */
export class H264Packetizer {
  readonly payloadType: number;
  readonly mtu: number;
  readonly ssrc: number;
  #seq: number;

  constructor(o: H264PacketizerOptions = {}) {
    this.payloadType = o.payloadType ?? 96;
    this.mtu = o.mtu ?? 1200;
    // An FU-A needs its two header bytes and at least one byte of the NAL unit.
    if (!Number.isInteger(this.mtu) || this.mtu < 3) {
      throw new RangeError(`'mtu' must be at least 3, got ${this.mtu}`);
    }
    this.#seq = (o.initialSeq ?? 0) & 0xffff;
    this.ssrc = (o.ssrc ?? 0) >>> 0;
  }

  /** The sequence number the next packet will carry. */
  get nextSeq(): number {
    return this.#seq;
  }

  /**
   * The packets of one access unit, all with `rtpTimestamp` (taken mod 2^32), the marker
   * bit on the last (RFC 6184 5.1). `lengthSize` is the avcC NAL length size. With
   * `paramSets`, in-band copies of the same kind of parameter set are dropped; access unit
   * delimiters always are, as WebRTC receivers have no use for them.
   */
  packetize(
    sample: Buffer,
    lengthSize: number,
    rtpTimestamp: number,
    paramSets?: H264ParameterSets,
  ): RtpPacket[] {
    const payloads: Buffer[] = [];
    const dropSps = (paramSets?.sps.length ?? 0) > 0;
    const dropPps = (paramSets?.pps.length ?? 0) > 0;
    if (paramSets) this.#pushParameterSets([...paramSets.sps, ...paramSets.pps], payloads);
    for (const nal of nalUnits(sample, lengthSize)) {
      const type = nal[0]! & 0x1f;
      if (type === NAL_AUD || (type === NAL_SPS && dropSps) || (type === NAL_PPS && dropPps)) continue;
      this.#pushNal(nal, payloads);
    }
    const timestamp = rtpTimestamp >>> 0;
    return payloads.map((payload, i) => {
      const header = new RtpHeader({
        payloadType: this.payloadType,
        sequenceNumber: this.#seq,
        timestamp,
        ssrc: this.ssrc,
        marker: i === payloads.length - 1,
      });
      this.#seq = (this.#seq + 1) & 0xffff;
      return new RtpPacket(header, payload);
    });
  }

  #pushParameterSets(nals: Buffer[], out: Buffer[]): void {
    const sets = nals.filter((n) => n.length > 0);
    const stapBytes = sets.reduce((sum, n) => sum + 2 + n.length, 1);
    if (sets.length < 2 || stapBytes > this.mtu) {
      for (const n of sets) this.#pushNal(n, out);
      return;
    }
    // RFC 6184 5.7.1: F is 1 if any aggregated F is, NRI at least the highest aggregated NRI.
    let f = 0;
    let nri = 0;
    for (const n of sets) {
      f |= n[0]! & 0x80;
      nri = Math.max(nri, n[0]! & 0x60);
    }
    const stap = Buffer.alloc(stapBytes);
    stap[0] = f | nri | STAP_A;
    let at = 1;
    for (const n of sets) {
      stap.writeUInt16BE(n.length, at);
      n.copy(stap, at + 2);
      at += 2 + n.length;
    }
    out.push(stap);
  }

  /** RFC 6184 5.6 (single NAL unit packet) or 5.8 (FU-A, the NAL header split between indicator and header). */
  #pushNal(nal: Buffer, out: Buffer[]): void {
    if (nal.length <= this.mtu) {
      out.push(nal);
      return;
    }
    const indicator = (nal[0]! & 0xe0) | FU_A;
    const type = nal[0]! & 0x1f;
    const chunk = this.mtu - 2;
    for (let at = 1; at < nal.length; at += chunk) {
      const end = Math.min(at + chunk, nal.length);
      const fu = Buffer.alloc(2 + end - at);
      fu[0] = indicator;
      fu[1] = (at === 1 ? FU_START : 0) | (end === nal.length ? FU_END : 0) | type;
      nal.copy(fu, 2, at, end);
      out.push(fu);
    }
  }
}

/** The NAL units of an AVCC sample (ISO 14496-15 5.3.2), as views; empty ones are skipped. */
function* nalUnits(sample: Buffer, lengthSize: number): Generator<Buffer> {
  if (!Number.isInteger(lengthSize) || lengthSize < 1 || lengthSize > 4) {
    throw new RangeError(`NAL length size must be 1 to 4 bytes, got ${lengthSize}`);
  }
  let at = 0;
  while (at < sample.length) {
    if (at + lengthSize > sample.length) {
      throw new RangeError(`AVCC sample ends inside a NAL length at offset ${at}`);
    }
    const length = sample.readUIntBE(at, lengthSize);
    at += lengthSize;
    if (at + length > sample.length) {
      throw new RangeError(
        `NAL unit of ${length} bytes at offset ${at} overruns the ${sample.length}-byte sample`,
      );
    }
    if (length > 0) yield sample.subarray(at, at + length);
    at += length;
  }
}

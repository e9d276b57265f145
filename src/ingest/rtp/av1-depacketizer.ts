import { AV1_OBU, joinObus, readLeb128, readObu, type Av1Obu } from '../../core/codecs/av1-obu.js';

/**
 * The AV1 RTP payload format (AOM, "RTP Payload Format For AV1", 4) to a temporal unit
 * in the low-overhead bitstream format (every OBU with its size field), for the packets
 * of one temporal unit in sequence order.
 *
 * Why not werift's AV1RtpPayload (0.24.4): with W = 0 ("each OBU element MUST be
 * preceded by a length field") it throws (Array(-1)), and libwebrtc sends W = 0 whenever
 * a packet holds more than three elements; it writes obu_size before the extension byte
 * instead of after it (OBUs of scalable streams come out corrupt); and it joins two
 * fragmented OBUs that meet in one packet into one. test/unit/ingest-av1.test.ts shows
 * the first two against werift.
 *
 * Aggregation header: Z (the first element continues an OBU of the previous packet),
 * Y (the last element continues in the next packet), W (element count, 0: each has a
 * length), N (first packet of a coded video sequence). Temporal delimiters, tile lists
 * and padding are dropped (4.5: "The temporal delimiter OBU, if present, SHOULD be
 * removed when transmitting, and MUST be ignored by receivers").
 */

export class Av1PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Av1PayloadError';
  }
}

const DROPPED = new Set<number>([AV1_OBU.temporalDelimiter, AV1_OBU.tileList, AV1_OBU.padding]);

/** The OBU elements of one packet, and its Z, Y, N bits. */
export function av1Elements(p: Buffer): { z: boolean; y: boolean; n: boolean; elements: Buffer[] } {
  const header = p[0];
  if (header === undefined) throw new Av1PayloadError('empty payload');
  const z = (header & 0x80) !== 0;
  const y = (header & 0x40) !== 0;
  const w = (header >> 4) & 0x03;
  const n = (header & 0x08) !== 0;
  // "If N equals 1 then Z MUST equal 0."
  if (n && z) throw new Av1PayloadError('N and Z both set');
  const elements: Buffer[] = [];
  let at = 1;
  while (at < p.length) {
    const last = w !== 0 && elements.length === w - 1;
    if (last) {
      elements.push(p.subarray(at));
      break;
    }
    const { value, bytes } = readLeb128(p, at);
    at += bytes;
    if (at + value > p.length) throw new Av1PayloadError('OBU element runs past the payload');
    elements.push(p.subarray(at, at + value));
    at += value;
  }
  if (w !== 0 && elements.length !== w)
    throw new Av1PayloadError(`W is ${w} but ${elements.length} elements`);
  return { z, y, n, elements };
}

export function depacketizeAv1(payloads: readonly Buffer[]): Buffer {
  const obus: Av1Obu[] = [];
  let pending: Buffer[] | null = null;
  const finish = (bytes: Buffer) => {
    if (bytes.length === 0) return;
    const { obu } = readObu(bytes, 0);
    if (!DROPPED.has(obu.type)) obus.push(obu);
  };
  for (const p of payloads) {
    const { z, y, elements } = av1Elements(p);
    if (z && !pending) throw new Av1PayloadError('packet continues an OBU whose start was not received');
    if (!z && pending) throw new Av1PayloadError('a fragmented OBU was not continued');
    elements.forEach((e, i) => {
      const continues = i === 0 && z;
      const open = i === elements.length - 1 && y;
      if (continues) pending!.push(e);
      else pending = [e];
      if (!open) {
        finish(Buffer.concat(pending!));
        pending = null;
      }
    });
    if (elements.length === 0 && (z || y))
      throw new Av1PayloadError('Z or Y set on a packet without elements');
  }
  if (pending) throw new Av1PayloadError('the last OBU continues past the temporal unit');
  return joinObus(obus);
}

import { AV1_OBU, splitObus, writeObu } from '../../../core/codecs/av1-obu.js';
import { parseAv1SequenceHeader } from '../../../core/codecs/av1-sequence-header.js';

/**
 * AV1 for Matroska (`V_AV1`, the Matroska AV1 codec mapping): blocks hold a temporal
 * unit's OBUs with size fields and no temporal delimiter (as ingest emits them), and
 * CodecPrivate holds the AV1CodecConfigurationRecord (av1C, AV1 ISOBMFF binding 2.3.3)
 * with the sequence header OBU as its configOBUs.
 */

/**
 * av1C from a temporal unit that carries a sequence header, and the sequence's size;
 * null when it carries none. Throws a BitstreamError on an unreadable one.
 */
export function av1DecoderConfig(
  temporalUnit: Buffer,
): { codecPrivate: Buffer; width: number; height: number } | null {
  const header = splitObus(temporalUnit).find((o) => o.type === AV1_OBU.sequenceHeader);
  if (!header) return null;
  const sh = parseAv1SequenceHeader(header.payload);
  const head = Buffer.from([
    0x81, // marker 1, version 1
    (sh.seqProfile << 5) | sh.levelIdx,
    (sh.tier << 7) |
      (Number(sh.highBitdepth) << 6) |
      (Number(sh.twelveBit) << 5) |
      (Number(sh.monochrome) << 4) |
      (sh.subsamplingX << 3) |
      (sh.subsamplingY << 2) |
      sh.chromaSamplePosition,
    0, // reserved, initial_presentation_delay_present 0
  ]);
  return { codecPrivate: Buffer.concat([head, writeObu(header)]), width: sh.width, height: sh.height };
}

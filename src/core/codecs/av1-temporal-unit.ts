import { AV1_OBU, joinObus, splitObus, type Av1Obu } from './av1-obu.js';
import { parseAv1SequenceHeader, type Av1SequenceHeader } from './av1-sequence-header.js';

export interface Av1Frame {
  /** The temporal unit's OBUs with size fields; the sequence header in front of every key frame. */
  data: Buffer;
  /** Holds a shown key frame: a decoder can start here. */
  keyframe: boolean;
  /** False when no sequence header was ever seen, or the unit holds no frame. */
  decodable: boolean;
  /** The sequence header this unit carried, when it carried one that parsed. */
  sequenceHeader: Av1SequenceHeader | null;
}

/**
 * Whether a frame (or frame header) OBU starts a key frame (uncompressed_header(),
 * 5.9.2): not show_existing_frame, and frame_type KEY_FRAME (0); with
 * reduced_still_picture_header every frame is one.
 */
export function isAv1KeyFrameHeader(payload: Uint8Array, reducedStillPictureHeader: boolean): boolean {
  if (reducedStillPictureHeader) return true;
  const b = payload[0];
  if (b === undefined) return false;
  const showExisting = (b & 0x80) !== 0;
  const frameType = (b >> 5) & 0x03;
  return !showExisting && frameType === 0;
}

/**
 * Keeps the last sequence header of a publisher and puts it in front of a key frame that
 * came without one (a decoder needs one before any frame; the AV1 RTP payload format
 * does not require a sender to repeat it). Pure: one instance per video track.
 */
export class Av1SequenceHeaderCache {
  #header: Av1Obu | null = null;
  info: Av1SequenceHeader | null = null;

  /** Processes one temporal unit (OBUs with size fields, as the depacketizer emits them). */
  process(data: Buffer): Av1Frame {
    const obus = splitObus(data);
    let sequenceHeader: Av1SequenceHeader | null = null;
    let hasHeader = false;
    let keyframe = false;
    let frame = false;
    for (const obu of obus) {
      if (obu.type === AV1_OBU.sequenceHeader) {
        hasHeader = true;
        this.#header = { ...obu, payload: Buffer.from(obu.payload) };
        try {
          sequenceHeader = parseAv1SequenceHeader(obu.payload);
          this.info = sequenceHeader;
        } catch {
          // Keep the bytes: a decoder may still read what this parser could not.
        }
      } else if (obu.type === AV1_OBU.frame || obu.type === AV1_OBU.frameHeader) {
        if (!frame)
          keyframe = isAv1KeyFrameHeader(obu.payload, this.info?.reducedStillPictureHeader ?? false);
        frame = true;
      }
    }
    if (this.#header === null || !frame) return { data, keyframe: false, decodable: false, sequenceHeader };
    if (!keyframe || hasHeader) return { data, keyframe, decodable: true, sequenceHeader };
    return { data: joinObus([this.#header, ...obus]), keyframe, decodable: true, sequenceHeader };
  }
}

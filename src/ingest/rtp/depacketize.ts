import { dePacketizeRtpPackets, type RtpPacket } from 'werift';
import type { VideoCodec } from '../../core/media.js';
import { depacketizeAv1 } from './av1-depacketizer.js';
import type { Depacketize, ReceivedPacket } from './frame-assembler.js';
import { depacketizeH265 } from './h265-depacketizer.js';

/** A received packet that still holds werift's RtpPacket, for werift's depacketizers. */
export interface WeriftPacket extends ReceivedPacket {
  rtp: RtpPacket;
}

const WERIFT_CODEC = { h264: 'MPEG4/ISO/AVC', vp8: 'VP8', vp9: 'VP9' } as const;

/**
 * The payload parsers of one codec over the packets of one frame: werift's where it has
 * a correct one (H264RtpPayload: single NAL, STAP-A and FU-A into Annex-B with 4-byte
 * start codes; Vp8RtpPayload and Vp9RtpPayload: payload descriptors stripped), ours for
 * H.265 (werift has none) and AV1 (werift's is wrong, see av1-depacketizer.ts).
 */
export function depacketizer(codec: VideoCodec): Depacketize<WeriftPacket> {
  switch (codec) {
    case 'h265':
      return (packets) => depacketizeH265(packets.map((p) => p.payload));
    case 'av1':
      return (packets) => depacketizeAv1(packets.map((p) => p.payload));
    default: {
      const name = WERIFT_CODEC[codec];
      return (packets) =>
        dePacketizeRtpPackets(
          name,
          packets.map((p) => p.rtp),
        ).data;
    }
  }
}

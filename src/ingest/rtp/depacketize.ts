import { dePacketizeRtpPackets, type RtpPacket } from 'werift';
import type { VideoCodec } from '../../core/media.js';
import type { Depacketize, ReceivedPacket } from './frame-assembler.js';

/** A received packet that still holds werift's RtpPacket, for werift's depacketizers. */
export interface WeriftPacket extends ReceivedPacket {
  rtp: RtpPacket;
}

const WERIFT_CODEC = { h264: 'MPEG4/ISO/AVC', vp8: 'VP8', vp9: 'VP9' } as const;

/**
 * werift's payload parsers (H264RtpPayload: single NAL, STAP-A and FU-A into Annex-B with
 * 4-byte start codes; Vp8RtpPayload and Vp9RtpPayload: payload descriptors stripped) over
 * the packets of one frame.
 */
export function weriftDepacketizer(codec: VideoCodec): Depacketize<WeriftPacket> {
  const name = WERIFT_CODEC[codec];
  return (packets) =>
    dePacketizeRtpPackets(
      name,
      packets.map((p) => p.rtp),
    ).data;
}

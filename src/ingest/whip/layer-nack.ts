import type { RTCRtpReceiver, RtpPacket } from 'werift';

/** The part of werift's NackHandler (not exported by werift 0.24.4) this file uses. */
interface NackHandlerLike {
  addPacket(packet: RtpPacket): void;
  close(): void;
  onPacketLost: { execute(...args: unknown[]): void; subscribe(fn: (...args: unknown[]) => void): unknown };
}

/** SSRCs a simulcast receiver NACKs at most: a layer's own, and one more per layer if it restarts. */
const MAX_STREAMS = 8;

/**
 * Simulcast layers share one werift RTCRtpReceiver, and its NackHandler keeps one
 * expected sequence number (and one media SSRC) per receiver: with three layers'
 * sequence numbers interleaved it would see loss everywhere and NACK the wrong SSRC.
 * This puts one werift NackHandler per SSRC in its place (built from the receiver's own
 * handler's class, which werift does not export), each NACKing its own layer; their
 * NACKs still reach `receiver.onPacketLost`. Beyond MAX_STREAMS SSRCs nothing is NACKed
 * (a publisher cycling SSRCs cannot grow this). receiver.stop() closes them all.
 */
export function nackPerSsrc(receiver: RTCRtpReceiver): void {
  const r = receiver as unknown as { nack: NackHandlerLike };
  const shared = r.nack;
  const Handler = shared.constructor as new (receiver: RTCRtpReceiver) => NackHandlerLike;
  const handlers = new Map<number, NackHandlerLike>();
  r.nack = {
    onPacketLost: shared.onPacketLost,
    addPacket(packet: RtpPacket): void {
      const ssrc = packet.header.ssrc;
      let h = handlers.get(ssrc);
      if (!h) {
        if (handlers.size >= MAX_STREAMS) return;
        h = new Handler(receiver);
        h.onPacketLost.subscribe((nack) => shared.onPacketLost.execute(nack));
        handlers.set(ssrc, h);
      }
      h.addPacket(packet);
    },
    close(): void {
      for (const h of handlers.values()) h.close();
      handlers.clear();
      shared.close();
    },
  };
}

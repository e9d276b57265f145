/** The part of a received RTP packet that frame assembly reads. */
export interface ReceivedPacket {
  header: { sequenceNumber: number; timestamp: number; marker: boolean };
  payload: Buffer;
  /** Wall clock (epoch ms) when it arrived. */
  arrivalMs: number;
}

/** One video frame's payload as depacketized, before any codec-level look. */
export interface AssembledFrame {
  data: Buffer;
  rtpTimestamp: number;
  /** When its last packet arrived. */
  arrivalMs: number;
  /** A packet of it was lost (or it could not be depacketized): drop it. */
  broken: boolean;
}

/** Turns the RTP packets of one frame, in order, into the frame's bytes; throws on malformed payloads. */
export type Depacketize<P extends ReceivedPacket = ReceivedPacket> = (packets: readonly P[]) => Buffer;

/**
 * Groups in-order video packets into frames: a frame is the packets of one RTP
 * timestamp, ending at the marker bit (RFC 6184 5.1, RFC 7741 4.1, RFC 9628 4.1) or
 * when the timestamp changes. A gap reported by the reorder buffer breaks the frame it
 * fell in, and the next one too when it is unclear which of the two lost packets.
 */
export class FrameAssembler<P extends ReceivedPacket = ReceivedPacket> {
  readonly #depacketize: Depacketize<P>;
  readonly #maxPackets: number;
  #packets: P[] = [];
  #timestamp = 0;
  #broken = false;
  #nextBroken = false;

  constructor(depacketize: Depacketize<P>, opts: { maxPacketsPerFrame?: number } = {}) {
    this.#depacketize = depacketize;
    this.#maxPackets = opts.maxPacketsPerFrame ?? 4096;
  }

  /** Sequence numbers were given up on before the next packet. */
  gap(): void {
    if (this.#packets.length > 0) this.#broken = true;
    // Lost packets may also have been the start of the next frame.
    this.#nextBroken = true;
  }

  /** Adds the next packet in sequence order; returns the frames it completed (0 to 2). */
  push(packet: P): AssembledFrame[] {
    const done: AssembledFrame[] = [];
    if (this.#packets.length > 0 && packet.header.timestamp !== this.#timestamp) {
      // The previous frame ended without a marker: complete if no packet is missing.
      done.push(this.#finish());
    }
    if (this.#packets.length === 0) {
      this.#timestamp = packet.header.timestamp;
      this.#broken = this.#nextBroken;
      this.#nextBroken = false;
    }
    if (this.#packets.length < this.#maxPackets) this.#packets.push(packet);
    else this.#broken = true;
    if (packet.header.marker) done.push(this.#finish());
    return done;
  }

  #finish(): AssembledFrame {
    const packets = this.#packets;
    const frame: AssembledFrame = {
      data: Buffer.alloc(0),
      rtpTimestamp: this.#timestamp,
      arrivalMs: packets.reduce((m, p) => Math.max(m, p.arrivalMs), 0),
      broken: this.#broken,
    };
    this.#packets = [];
    this.#broken = false;
    if (!frame.broken) {
      try {
        frame.data = this.#depacketize(packets);
        if (frame.data.length === 0) frame.broken = true;
      } catch {
        frame.broken = true;
      }
    }
    return frame;
  }
}

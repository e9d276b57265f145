import type { RtpPacket } from 'werift';

/**
 * The last `size` packets of one track of the current publish session, by their original
 * sequence number: a viewer's NACK, translated back, is answered from here. Holds the
 * packets werift parsed (shared, never changed); a power of two keeps the index cheap.
 */
export class RetransmitBuffer {
  readonly #slots: (RtpPacket | undefined)[];
  readonly #mask: number;

  constructor(size = 512) {
    if (size <= 0 || (size & (size - 1)) !== 0) throw new Error('size must be a power of two');
    this.#slots = new Array<RtpPacket | undefined>(size);
    this.#mask = size - 1;
  }

  push(rtp: RtpPacket): void {
    this.#slots[rtp.header.sequenceNumber & this.#mask] = rtp;
  }

  get(sequenceNumber: number): RtpPacket | undefined {
    const p = this.#slots[sequenceNumber & this.#mask];
    return p && p.header.sequenceNumber === sequenceNumber ? p : undefined;
  }

  clear(): void {
    this.#slots.fill(undefined);
  }
}

import { PictureLossIndication, RtcpPayloadSpecificFeedback, type RTCRtpReceiver } from 'werift';
import type { RtcpFeedback } from '../sdp/offer.js';
import { RateLimiter } from '../rtp/rate-limiter.js';

/**
 * RFC 5104 4.3.1 Full Intra Request in the shape werift's RtcpPayloadSpecificFeedback
 * serializes (werift has the class but does not export it): the media source SSRC field
 * is 0 and the FCI names the SSRC, with a sequence number that changes per new request.
 */
class FullIntraRequestFeedback {
  readonly count = 4;
  readonly senderSsrc: number;
  readonly mediaSsrc = 0;
  readonly fir: { ssrc: number; sequenceNumber: number }[];

  constructor(senderSsrc: number, ssrc: number, sequenceNumber: number) {
    this.senderSsrc = senderSsrc;
    this.fir = [{ ssrc, sequenceNumber }];
  }

  get length(): number {
    return this.serialize().length / 4 - 1;
  }

  serialize(): Buffer<ArrayBuffer> {
    const buf = Buffer.alloc(8 + this.fir.length * 8);
    buf.writeUInt32BE(this.senderSsrc >>> 0, 0);
    buf.writeUInt32BE(this.mediaSsrc, 4);
    this.fir.forEach(({ ssrc, sequenceNumber }, i) => {
      buf.writeUInt32BE(ssrc >>> 0, 8 + i * 8);
      buf[12 + i * 8] = sequenceNumber & 0xff;
    });
    return buf;
  }
}

/**
 * Asks a publisher for a key frame: PLI when it negotiated `nack pli`, else FIR when it
 * negotiated `ccm fir`; at most once per `minIntervalMs` (an encoder answers each with a
 * whole key frame, so more would only cost bandwidth).
 */
export class KeyframeRequester {
  readonly #receiver: RTCRtpReceiver;
  readonly #feedback: RtcpFeedback;
  readonly #limiter: RateLimiter;
  #mediaSsrc: number | null = null;
  #firSequence = 0;
  plisSent = 0;
  firsSent = 0;

  constructor(receiver: RTCRtpReceiver, feedback: RtcpFeedback, minIntervalMs: number) {
    this.#receiver = receiver;
    this.#feedback = feedback;
    this.#limiter = new RateLimiter(minIntervalMs);
  }

  /** The SSRC the publisher sends video with (from its first packet). */
  set mediaSsrc(ssrc: number) {
    this.#mediaSsrc = ssrc;
  }

  get supported(): boolean {
    return this.#feedback.pli || this.#feedback.fir;
  }

  /** Sends a request unless one went out less than the interval ago; true when one was sent. */
  request(nowMs: number): boolean {
    const transport = this.#receiver.dtlsTransport;
    if (this.#mediaSsrc === null || !this.supported || transport?.state !== 'connected') return false;
    if (!this.#limiter.tryAcquire(nowMs)) return false;
    const sender = this.#receiver.rtcpSsrc;
    const feedback = this.#feedback.pli
      ? new PictureLossIndication({ senderSsrc: sender, mediaSsrc: this.#mediaSsrc })
      : new FullIntraRequestFeedback(sender, this.#mediaSsrc, this.#firSequence++);
    if (this.#feedback.pli) this.plisSent++;
    else this.firsSent++;
    transport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]).catch(() => undefined);
    return true;
  }
}

import {
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  type RtcpPacket,
} from 'werift';
import { RUNG_HEADROOM } from './rung-choice.js';

/**
 * A REMB is the receiver's whole budget at that moment; one that is not refreshed says
 * nothing about now (Chrome sends one about every second, and at once when it drops).
 */
export const REMB_MAX_AGE_MS = 5000;
/** Below this loss the link is taken as clear: the loss cap recovers. libwebrtc: 2%. */
export const LOSS_LOW = 0.02;
/** Above this loss the link is taken as overrun: the loss cap is cut. libwebrtc: 10%. */
export const LOSS_HIGH = 0.1;
/**
 * How fast the loss cap recovers while loss stays under {@link LOSS_LOW}: ×1.08 per second,
 * libwebrtc's classic increase, so a halved cap is back in about 9 s.
 */
export const LOSS_RECOVERY_PER_S = 1.08;
/**
 * Weight of a new receiver report in the smoothed loss. Each report already averages
 * about one second (RFC 3550 §6.4.1); smoothing once more keeps a single burst from
 * cutting twice as hard, while a sustained 20% still cuts at the first report.
 */
export const LOSS_SMOOTHING = 0.5;
/**
 * Ceiling of the recovering loss cap, above anything a ladder sends, so that hours of a
 * clear link do not grow it to Infinity.
 */
export const LOSS_CAP_MAX_BPS = 100_000_000;

/**
 * What one WHEP viewer can take, in bits/s: the lower of its latest REMB and a cap that
 * follows the loss in its receiver reports, as libwebrtc's classic sender-side rule does:
 * loss under 2% lets the cap recover, 2–10% holds it, over 10% cuts it to
 * sendRate × (1 − loss / 2). Pure: reports and time come in, the estimate goes out.
 *
 * Time only moves when a method is given `nowMs`; the getters answer as of the latest
 * one, so a caller with nothing to report calls {@link advance} before reading.
 */
export class ViewerBandwidth {
  #remb: { bps: number; atMs: number } | null = null;
  #lossCapBps: number | null = null;
  #loss: number | null = null;
  #sendBps: number | null = null;
  /** Since when the cap recovers; null while loss is not under {@link LOSS_LOW}. */
  #recoverFromMs: number | null = null;
  #nowMs = -Infinity;

  /** A REMB from the viewer (`bitrate`: bits/s, as {@link rembBitrate} reads it). */
  onRemb(bitrate: number, nowMs: number): void {
    this.advance(nowMs);
    this.#remb = { bps: bitrate, atMs: nowMs };
  }

  /**
   * The loss of one report block (the video SSRC's: audio's 50 packets/s say little),
   * `fractionLost` as RFC 3550 has it, 0..255 for 0..255/256.
   */
  onReceiverReport(fractionLost: number, nowMs: number): void {
    this.advance(nowMs);
    const sample = Math.min(Math.max(fractionLost, 0), 255) / 256;
    const loss = this.#loss === null ? sample : this.#loss + LOSS_SMOOTHING * (sample - this.#loss);
    this.#loss = loss;
    if (loss < LOSS_LOW) {
      this.#recoverFromMs ??= nowMs;
      return;
    }
    this.#recoverFromMs = null;
    if (loss <= LOSS_HIGH) return;
    // Without a known send rate the cut starts from what we believed the viewer could take;
    // with neither there is nothing to scale.
    const base = this.#sendBps ?? this.estimateBps;
    if (base === null) return;
    // A min, not an assignment: reports repeating the same loss at the same send rate must
    // not compound, and a cut must never raise a cap that is already lower.
    const cut = base * (1 - loss / 2);
    this.#lossCapBps = Math.min(this.#lossCapBps ?? Infinity, cut);
  }

  /** The rate the server now sends this viewer (video + audio), bits/s. */
  onSent(bitsPerSecond: number, nowMs: number): void {
    this.advance(nowMs);
    this.#sendBps = bitsPerSecond;
  }

  /** Moves time on: ages the REMB out and lets the loss cap recover. Earlier times are ignored. */
  advance(nowMs: number): void {
    if (nowMs <= this.#nowMs) return;
    if (this.#recoverFromMs !== null && this.#lossCapBps !== null) {
      const grown = this.#lossCapBps * LOSS_RECOVERY_PER_S ** ((nowMs - this.#recoverFromMs) / 1000);
      this.#lossCapBps = Math.min(grown, LOSS_CAP_MAX_BPS);
      this.#recoverFromMs = nowMs;
    }
    this.#nowMs = nowMs;
  }

  /** Bits/s the viewer can take; null while nothing limits it (no fresh REMB, no loss cut). */
  get estimateBps(): number | null {
    const remb =
      this.#remb !== null && this.#nowMs - this.#remb.atMs < REMB_MAX_AGE_MS ? this.#remb.bps : null;
    const cap = this.#lossCapBps;
    if (remb === null) return cap;
    return cap === null ? remb : Math.min(remb, cap);
  }

  /** Smoothed loss, 0..1 (0 before any report). */
  get lossFraction(): number {
    return this.#loss ?? 0;
  }
}

/**
 * The bitrate of a REMB (draft-alvestrand-rmcat-remb: PSFB FMT 15, "REMB" identifier), in
 * bits/s; null for any other payload-specific feedback. werift leaves `feedback` undefined
 * for an FMT it does not know, hence the optional chain.
 */
export function rembBitrate(p: RtcpPayloadSpecificFeedback): number | null {
  const fb = p.feedback as RtcpPayloadSpecificFeedback['feedback'] | undefined;
  if (fb?.count !== ReceiverEstimatedMaxBitrate.count) return null;
  // werift decodes mantissa << exponent as a bigint, saturating to 2^64 − 1 past exponent 46.
  return Number((fb as ReceiverEstimatedMaxBitrate).bitrate);
}

/**
 * The fraction lost (0..255, RFC 3550 §6.4.1) that an RR, or an SR's report blocks, give
 * for `ssrc`; null when the packet has no block for it.
 */
export function fractionLostOf(p: RtcpPacket, ssrc: number): number | null {
  if (p.type !== RtcpRrPacket.type && p.type !== RtcpSrPacket.type) return null;
  const block = p.reports.find((r) => r.ssrc === ssrc);
  return block === undefined ? null : block.fractionLost;
}

/**
 * A REMB of `bitrateBps` about `ssrcs`, as a browser sends it. werift's router hands a REMB
 * to the sender of `ssrcs[0]` only, so that SSRC must be the one whose `onRtcp` listens.
 */
export function rembPacket(
  bitrateBps: number,
  senderSsrc: number,
  ssrcs: number[],
): RtcpPayloadSpecificFeedback {
  // 18-bit mantissa, 6-bit exponent: the smallest exponent that fits keeps the most precision.
  let exp = 0;
  let bps = Math.max(0, Math.floor(bitrateBps));
  while (bps > 0x3ffff) {
    bps = Math.floor(bps / 2);
    exp++;
  }
  return new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc,
      mediaSsrc: 0, // "always 0" in the draft: the SSRCs follow the bitrate
      ssrcNum: ssrcs.length,
      brExp: exp,
      brMantissa: bps,
      bitrate: BigInt(bps) << BigInt(exp),
      ssrcFeedbacks: ssrcs,
    }),
  });
}

/** An estimate under this share of the video a viewer is sent says its link is congested. */
const CONGESTED = 0.85;

/**
 * The estimate the rung chooser follows. A receive-side estimate (REMB, which covers the
 * video SSRC) without probing tells congestion, not spare room: measured from Chromium
 * (no abs-send-time), 678-708 kb/s while 700-744 kb/s of 360p video arrived without loss,
 * and still 700 kb/s once down at 400 kb/s; with abs-send-time it reaches 1.5-1.7 times what
 * arrives, and no more (RungChoice's trials find room above that). So an estimate under
 * CONGESTED × the video sent counts as it is (go down), and one above it as at least everything sent now
 * (`sendingBps`, audio included; stay, or up when it says there is room for more).
 */
export function followedEstimate(
  estimateBps: number | null,
  videoSendingBps: number,
  sendingBps: number,
): number | null {
  if (estimateBps === null || videoSendingBps <= 0) return estimateBps;
  if (estimateBps < CONGESTED * videoSendingBps) return estimateBps;
  return Math.max(estimateBps, sendingBps / RUNG_HEADROOM);
}

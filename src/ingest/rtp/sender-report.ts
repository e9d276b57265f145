/**
 * RTCP sender reports (RFC 3550 6.4.1) as the session clock uses them: each pairs one
 * instant of the sender's wall clock (NTP) with the RTP timestamp of the same instant on
 * one SSRC, so the RTP times of every track of a sender meet on one clock, whatever their
 * packets' delays on the way.
 */
export interface SenderReport {
  ssrc: number;
  /** The report's NTP timestamp in milliseconds since 1900 (the sender's clock). */
  ntpMs: number;
  rtpTimestamp: number;
}

const TWO_32 = 2 ** 32;

/**
 * NTP's 64-bit fixed point (seconds since 1900 in the high word, the fraction in the low)
 * in milliseconds. Not werift's ntpTime2Sec / ntpTimeToEpochMs: they read the fraction
 * as decimal digits or as milliseconds, which is not what RFC 3550 senders write.
 */
export function ntpToMs(ntp: bigint): number {
  const seconds = Number(ntp >> 32n);
  const fraction = Number(ntp & 0xffffffffn);
  return seconds * 1000 + (fraction * 1000) / TWO_32;
}

/** Milliseconds since 1900 as NTP's 64-bit fixed point (the test publisher writes its reports with it). */
export function msToNtp(ms: number): bigint {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.min(TWO_32 - 1, Math.round(((ms - seconds * 1000) / 1000) * TWO_32));
  return (BigInt(seconds) << 32n) | BigInt(fraction);
}

/** Milliseconds between 1900-01-01 (NTP's epoch) and 1970-01-01 (the Unix epoch). */
export const NTP_UNIX_OFFSET_MS = 2_208_988_800_000;

/**
 * The sender's wall clock (ms since 1900) at RTP timestamp `rtpTimestamp` of the report's
 * SSRC. The difference is taken as a signed 32-bit number: a report is a few seconds old
 * at most, far within the ±6.6 h that leaves at 90 kHz, and it crosses the wrap.
 */
export function senderTimeMs(sr: SenderReport, rtpTimestamp: number, clockRate: number): number {
  const ticks = ((rtpTimestamp >>> 0) - (sr.rtpTimestamp >>> 0)) | 0;
  return sr.ntpMs + (ticks * 1000) / clockRate;
}

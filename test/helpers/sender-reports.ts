import { RtcpSenderInfo, RtcpSrPacket, type MediaStreamTrack, type RTCRtpSender } from 'werift';
import { msToNtp, NTP_UNIX_OFFSET_MS } from '../../src/ingest/rtp/sender-report.js';

/** A report a second (Chromium sends video's every second). */
const REPORT_INTERVAL_MS = 1000;

interface ReportedTrack {
  sender: RTCRtpSender;
  clockRate: number;
  /** Ticks from the first packet's RTP timestamp to the source's time 0. */
  leadTicks: number;
  /** RTP timestamp of the source's time 0 on this track. */
  zeroTs: number | null;
}

/** werift's RTCRtpSender members this file uses (private in its types). */
interface SenderInternals {
  rtcpRunning: boolean;
  packetCount: number;
  octetCount: number;
}

const wallMs = () => performance.timeOrigin + performance.now();

/**
 * RTCP sender reports for the werift test publisher, as Chromium (and OBS through
 * libdatachannel) make them: the NTP time of now with the RTP timestamp of now on the
 * track's media clock, and every track's media clock starting at the same instant (the
 * source's time 0: ffmpeg encodes both tracks from sources that start together, and the
 * first packet of each carries time 0, less the encoder's delay given as `leadTicks`). A
 * report then says when the sender captured a timestamp, whatever the packet's delay on
 * its way.
 *
 * werift's own sender reports cannot stand in: its ntpTime() writes the decimal digits of
 * the fraction of a second as the NTP fraction (0.5 s is written as 5 / 2^32 s), and its
 * pair is the last packet's RTP timestamp with the time that packet was sent. They are
 * switched off on every sender given here (also with `enabled` false: no reports at all).
 */
export class TestSenderReports {
  readonly #tracks: ReportedTrack[] = [];
  /** Wall clock (epoch ms) of the source's time 0: the first packet of any track. */
  #t0Ms: number | null = null;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #enabled: boolean;
  readonly #firstAfterMs: number;
  #closed = false;

  /** `firstAfterMs`: each track's first report comes this long after its first packet. */
  constructor(enabled: boolean, firstAfterMs = 250) {
    this.#enabled = enabled;
    this.#firstAfterMs = firstAfterMs;
  }

  /**
   * Sends reports for what `track` sends through `sender` (an RTP clock of `clockRate`),
   * whose source's time 0 is `leadTicks` after its first packet's timestamp.
   */
  add(track: MediaStreamTrack, sender: RTCRtpSender, clockRate: number, leadTicks = 0): void {
    // werift starts its report loop at the first packet unless it believes it runs already.
    (sender as unknown as SenderInternals).rtcpRunning = true;
    if (!this.#enabled) return;
    const t: ReportedTrack = { sender, clockRate, leadTicks, zeroTs: null };
    this.#tracks.push(t);
    const sub = track.onReceiveRtp.subscribe((rtp) => {
      sub.unSubscribe();
      t.zeroTs = (rtp.header.timestamp + t.leadTicks) >>> 0;
      this.#t0Ms ??= wallMs();
      this.#schedule(t, this.#firstAfterMs);
    });
  }

  #schedule(t: ReportedTrack, ms: number): void {
    if (this.#closed) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#send(t);
      this.#schedule(t, REPORT_INTERVAL_MS);
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #send(t: ReportedTrack): void {
    if (t.zeroTs === null || this.#t0Ms === null) return;
    const now = wallMs();
    const s = t.sender as unknown as SenderInternals;
    const packet = new RtcpSrPacket({
      ssrc: t.sender.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: msToNtp(now + NTP_UNIX_OFFSET_MS),
        rtpTimestamp: (t.zeroTs + Math.round(((now - this.#t0Ms) * t.clockRate) / 1000)) >>> 0,
        packetCount: s.packetCount >>> 0,
        octetCount: s.octetCount >>> 0,
      }),
    });
    t.sender.dtlsTransport.sendRtcp([packet]).catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

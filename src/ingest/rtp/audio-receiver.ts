import type { RtpPacket } from 'werift';
import type { MediaFrame } from '../../core/media.js';
import type { AudioIngestStats } from '../../core/streams.js';
import { TrackClock, type MediaEpoch } from './media-clock.js';
import { ReorderBuffer, type ReorderItem, type SequencedPacket } from './reorder-buffer.js';
import { RollingWindow } from './rolling-window.js';
import { SequenceStats } from './sequence-stats.js';

export interface AudioReceiverOptions {
  epoch: MediaEpoch;
  /** How long a missing packet is waited for before it is skipped (audio is not NACKed). @defaultValue 60 */
  reorderDelayMs?: number;
  onFrame: (frame: MediaFrame) => void;
}

interface AudioPacket extends SequencedPacket {
  rtp: RtpPacket;
  arrivalMs: number;
}

const OPUS_CLOCK_RATE = 48_000;
const RATE_WINDOW_MS = 3000;

/** One Opus track's receive path: reorder, then one frame per packet (RFC 7587) on the session clock. */
export class AudioReceiver {
  readonly #opts: AudioReceiverOptions;
  readonly #reorder: ReorderBuffer<AudioPacket>;
  readonly #clock: TrackClock;
  readonly #sequence = new SequenceStats();
  readonly #bytes = new RollingWindow(RATE_WINDOW_MS);
  #frames = 0;

  constructor(opts: AudioReceiverOptions) {
    this.#opts = opts;
    this.#reorder = new ReorderBuffer({ maxDelayMs: opts.reorderDelayMs ?? 60 });
    this.#clock = new TrackClock(OPUS_CLOCK_RATE, opts.epoch);
  }

  push(rtp: RtpPacket, arrivalMs: number): void {
    this.#sequence.record(rtp.header.sequenceNumber);
    this.#bytes.add(arrivalMs, rtp.payload.length);
    this.#consume(this.#reorder.push({ rtp, header: rtp.header, arrivalMs }, arrivalMs).items);
  }

  poll(nowMs: number): void {
    this.#consume(this.#reorder.poll(nowMs).items);
  }

  #consume(items: readonly ReorderItem<AudioPacket>[]): void {
    for (const item of items) {
      const p = item.packet;
      // Gaps need nothing: the decoder conceals a missing Opus packet.
      if (!p || p.rtp.payload.length === 0) continue;
      this.#frames++;
      this.#opts.onFrame({
        kind: 'audio',
        codec: 'opus',
        timeUs: this.#clock.timeUs(p.rtp.header.timestamp, p.arrivalMs, p.rtp.header.ssrc),
        keyframe: true,
        data: p.rtp.payload,
        arrivalMs: p.arrivalMs,
      });
    }
  }

  stats(nowMs: number): AudioIngestStats {
    return {
      codec: 'opus',
      bitrateKbps: Math.round((this.#bytes.ratePerSecond(nowMs) * 8) / 1000),
      packetsReceived: this.#sequence.received,
      packetsLost: this.#sequence.lost,
      frames: this.#frames,
    };
  }
}

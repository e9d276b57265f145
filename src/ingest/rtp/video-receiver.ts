import type { RtpPacket } from 'werift';
import type { MediaFrame, VideoCodec } from '../../core/media.js';
import type { VideoIngestStats } from '../../core/streams.js';
import { depacketizer, type WeriftPacket } from './depacketize.js';
import { FrameAssembler, type AssembledFrame } from './frame-assembler.js';
import { TrackClock, type MediaEpoch } from './media-clock.js';
import { ReorderBuffer, type ReorderItem } from './reorder-buffer.js';
import { RollingWindow } from './rolling-window.js';
import { SequenceStats } from './sequence-stats.js';
import { videoFrameParser, type VideoFrameParser } from './video-frame-parser.js';

/** Why a key frame is wanted: the stream starts, a packet was lost, or a frame could not be used. */
export type KeyframeReason = 'start' | 'loss' | 'undecodable';

export interface VideoReceiverOptions {
  codec: VideoCodec;
  /** H.265 parameter sets from the SDP (sprop-*). */
  parameterSets?: readonly Buffer[];
  epoch: MediaEpoch;
  /** How long a missing packet is waited for (NACK retransmission) before its frame is dropped. @defaultValue 200 */
  reorderDelayMs?: number;
  onFrame: (frame: MediaFrame) => void;
  onKeyframeNeeded: (reason: KeyframeReason) => void;
}

const VIDEO_CLOCK_RATE = 90_000;
const RATE_WINDOW_MS = 3000;

/**
 * One video track's receive path: RTP packets (any order) → reorder buffer → frames
 * (werift's depacketizers) → key frame gate → frames on the session clock. Nothing is
 * handed on before the first key frame, nor after a loss until the next key frame (a
 * decoder would only show corruption); each of those asks for a key frame.
 */
export class VideoReceiver {
  readonly codec: VideoCodec;
  width: number | null = null;
  height: number | null = null;
  profile: string | undefined;
  profileLevelId: string | undefined;
  profileIdc: number | undefined;
  level: string | undefined;
  tier: string | undefined;
  readonly #opts: VideoReceiverOptions;
  readonly #reorder: ReorderBuffer<WeriftPacket>;
  readonly #assembler: FrameAssembler<WeriftPacket>;
  readonly #parser: VideoFrameParser;
  readonly #clock: TrackClock;
  readonly #sequence = new SequenceStats();
  readonly #bytes = new RollingWindow(RATE_WINDOW_MS);
  readonly #frameTimes = new RollingWindow(RATE_WINDOW_MS);
  #awaitingKeyframe = true;
  /** The SSRC of the packets being assembled: its sender reports put frames on the sender's clock. */
  #ssrc: number | undefined;
  #frames = 0;
  #dropped = 0;
  #keyframes = 0;
  #lastKeyUs: number | null = null;
  #keyIntervalUs: number | null = null;

  constructor(opts: VideoReceiverOptions) {
    this.codec = opts.codec;
    this.#opts = opts;
    this.#reorder = new ReorderBuffer({ maxDelayMs: opts.reorderDelayMs ?? 200 });
    this.#assembler = new FrameAssembler(depacketizer(opts.codec));
    this.#parser = videoFrameParser(opts.codec, opts.parameterSets);
    this.#clock = new TrackClock(VIDEO_CLOCK_RATE, opts.epoch);
  }

  push(rtp: RtpPacket, arrivalMs: number): void {
    if (this.#sequence.received === 0) this.#opts.onKeyframeNeeded('start');
    this.#sequence.record(rtp.header.sequenceNumber);
    this.#bytes.add(arrivalMs, rtp.payload.length);
    const out = this.#reorder.push({ rtp, header: rtp.header, payload: rtp.payload, arrivalMs }, arrivalMs);
    if (out.reset) this.#lost();
    this.#consume(out.items);
  }

  /** Gives up on gaps that waited too long when no packets come to push them out. */
  poll(nowMs: number): void {
    this.#consume(this.#reorder.poll(nowMs).items);
  }

  #consume(items: readonly ReorderItem<WeriftPacket>[]): void {
    for (const item of items) {
      if (item.packet) {
        this.#ssrc = item.packet.rtp.header.ssrc;
        for (const frame of this.#assembler.push(item.packet)) this.#frame(frame);
      } else {
        this.#assembler.gap();
        this.#lost();
      }
    }
  }

  #lost(): void {
    this.#awaitingKeyframe = true;
    this.#opts.onKeyframeNeeded('loss');
  }

  #frame(f: AssembledFrame): void {
    if (f.broken) {
      this.#dropped++;
      this.#lost();
      return;
    }
    const parsed = this.#parser.parse(f.data);
    if (parsed.width !== undefined && parsed.height !== undefined) {
      this.width = parsed.width;
      this.height = parsed.height;
    }
    if (parsed.profile !== undefined) this.profile = parsed.profile;
    if (parsed.profileLevelId !== undefined) this.profileLevelId = parsed.profileLevelId;
    if (parsed.profileIdc !== undefined) this.profileIdc = parsed.profileIdc;
    if (parsed.level !== undefined) this.level = parsed.level;
    if (parsed.tier !== undefined) this.tier = parsed.tier;
    if (!parsed.decodable) {
      this.#dropped++;
      this.#awaitingKeyframe = true;
      this.#opts.onKeyframeNeeded('undecodable');
      return;
    }
    if (this.#awaitingKeyframe) {
      if (!parsed.keyframe) {
        this.#dropped++;
        this.#opts.onKeyframeNeeded('start');
        return;
      }
      this.#awaitingKeyframe = false;
    }
    const timeUs = this.#clock.timeUs(f.rtpTimestamp, f.arrivalMs, this.#ssrc);
    if (parsed.keyframe) {
      this.#keyframes++;
      if (this.#lastKeyUs !== null) this.#keyIntervalUs = timeUs - this.#lastKeyUs;
      this.#lastKeyUs = timeUs;
    }
    this.#frames++;
    this.#frameTimes.add(f.arrivalMs, 1);
    this.#opts.onFrame({
      kind: 'video',
      codec: this.codec,
      timeUs,
      keyframe: parsed.keyframe,
      data: parsed.data,
      arrivalMs: f.arrivalMs,
    });
  }

  stats(nowMs: number): Omit<VideoIngestStats, 'nacksSent' | 'plisSent' | 'firsSent'> {
    const s: Omit<VideoIngestStats, 'nacksSent' | 'plisSent' | 'firsSent'> = {
      codec: this.codec,
      width: this.width,
      height: this.height,
      fps: round1(this.#frameTimes.countPerSecond(nowMs)),
      bitrateKbps: Math.round((this.#bytes.ratePerSecond(nowMs) * 8) / 1000),
      packetsReceived: this.#sequence.received,
      packetsLost: this.#sequence.lost,
      frames: this.#frames,
      framesDropped: this.#dropped,
      keyframes: this.#keyframes,
      keyframeIntervalMs: this.#keyIntervalUs === null ? null : Math.round(this.#keyIntervalUs / 1000),
    };
    if (this.profile !== undefined) s.profile = this.profile;
    if (this.profileLevelId !== undefined) s.profileLevelId = this.profileLevelId;
    if (this.level !== undefined) s.level = this.level;
    if (this.tier !== undefined) s.tier = this.tier;
    return s;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

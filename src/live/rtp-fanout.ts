import type { RtpPacket } from 'werift';
import { startsKeyframe } from '../core/codecs/keyframe.js';
import type { Logger } from '../core/log.js';
import type { VideoCodec } from '../core/media.js';
import type { LiveReader } from './reader.js';
import { RetransmitBuffer } from './retransmit-buffer.js';
import type { LiveSource } from './source.js';

/** What receives a stream's RTP from a fan-out (a WHEP viewer). */
export interface RtpSink {
  readonly sessionId: string;
  /** The video codec the sink negotiated. */
  readonly videoCodec: VideoCodec | null;
  /**
   * One packet of the source (`source` names its session and SSRC; `keyStart`: it starts
   * a key frame). Never blocks; returns whether it was handed on.
   */
  forward(kind: 'video' | 'audio', source: string, rtp: RtpPacket, keyStart: boolean, nowMs: number): boolean;
  /** The source changed (takeover); false when the sink cannot take its video codec. */
  sourceChanged(videoCodec: VideoCodec | null): boolean;
}

export interface RtpFanoutOptions<S extends RtpSink = RtpSink> {
  streamId: string;
  /** Packets per track kept for NACKs. */
  retransmitPackets: number;
  log: Logger;
  /** A takeover brought a video codec `sink` did not negotiate: the owner ends it. */
  onCodecChanged: (sink: S, from: VideoCodec | null, to: VideoCodec | null) => void;
  /** The stream ended: the owner ends every sink. */
  onStreamEnded: (reason: string) => void;
}

/**
 * A live stream's RTP, as received from its current source, fanned out to sinks with no
 * transcode (WHEP passthrough): one reader of the stream for all its sinks, which holds
 * the packets kept for retransmission and decides once per packet whether it starts a
 * key frame.
 */
export class RtpFanout<S extends RtpSink = RtpSink> implements LiveReader {
  readonly streamId: string;
  readonly sinks = new Set<S>();
  readonly buffers: { video: RetransmitBuffer; audio: RetransmitBuffer };
  readonly #o: RtpFanoutOptions<S>;
  #source: LiveSource | null = null;
  #videoCodec: VideoCodec | null = null;
  #off: () => void = () => undefined;

  constructor(o: RtpFanoutOptions<S>) {
    this.streamId = o.streamId;
    this.#o = o;
    this.buffers = {
      video: new RetransmitBuffer(o.retransmitPackets),
      audio: new RetransmitBuffer(o.retransmitPackets),
    };
  }

  get source(): LiveSource | null {
    return this.#source;
  }

  attach(source: LiveSource, takeover: boolean): void {
    this.#off();
    this.#source = source;
    this.#videoCodec = source.video?.codec ?? null;
    this.buffers.video.clear();
    this.buffers.audio.clear();
    if (takeover) {
      for (const s of [...this.sinks]) {
        // A sink negotiated one video codec: one it cannot decode is not sent, it ends.
        if (s.sourceChanged(this.#videoCodec)) continue;
        this.#o.onCodecChanged(s, s.videoCodec, this.#videoCodec);
      }
    }
    this.#off = source.onRtp((kind, rtp, at) => this.#fanOut(kind, rtp, at));
    if (takeover && this.sinks.size > 0) source.requestKeyframe();
  }

  streamEnded(reason: string): void {
    this.#off();
    this.#source = null;
    this.#o.onStreamEnded(reason);
  }

  /** Asks the source for a key frame (a sink joined, or asked with PLI/FIR). */
  requestKeyframe(): void {
    this.#source?.requestKeyframe();
  }

  /** The original packet behind a NACKed one. */
  retransmit(kind: 'video' | 'audio', seq: number): RtpPacket | undefined {
    return this.buffers[kind].get(seq);
  }

  /** Stops forwarding (the owner removed it from the stream). */
  close(): void {
    this.#off();
    this.#source = null;
  }

  #fanOut(kind: 'video' | 'audio', rtp: RtpPacket, at: number): void {
    this.buffers[kind].push(rtp);
    if (this.sinks.size === 0) return;
    const source = `${this.#source?.sessionId ?? ''}:${rtp.header.ssrc}`;
    const key =
      kind === 'video' && this.#videoCodec !== null && startsKeyframe(this.#videoCodec, rtp.payload);
    for (const s of this.sinks) {
      try {
        s.forward(kind, source, rtp, key, at);
      } catch (e) {
        this.#o.log.warn(
          { err: e, streamId: this.streamId, viewerId: s.sessionId },
          'forwarding to a viewer failed',
        );
      }
    }
  }
}

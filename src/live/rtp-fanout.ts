import type { RtpPacket } from 'werift';
import { startsKeyframe } from '../core/codecs/keyframe.js';
import type { Logger } from '../core/log.js';
import type { VideoCodec } from '../core/media.js';
import type { LiveReader } from './reader.js';
import { RetransmitBuffer } from './retransmit-buffer.js';
import type { LiveSource } from './source.js';

const TOP_LAYER_REFRESH_MS = 100;

/** Which simulcast layer a video packet is of, and which layer is the source's highest now. */
export interface SimulcastPacket {
  rid: string;
  top: string | null;
}

/** What receives a stream's RTP from a fan-out (a WHEP viewer). */
export interface RtpSink {
  readonly sessionId: string;
  /** The video codec the sink negotiated. */
  readonly videoCodec: VideoCodec | null;
  /**
   * One packet of the source (`source` names its session and SSRC; `keyStart`: it starts
   * a key frame; `layer`: for simulcast video, the packet's rid and the source's highest
   * layer now). Never blocks; returns whether it was handed on.
   */
  forward(
    kind: 'video' | 'audio',
    source: string,
    rtp: RtpPacket,
    keyStart: boolean,
    nowMs: number,
    layer?: SimulcastPacket,
  ): boolean;
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
 * the packets kept for retransmission (per track, and per simulcast layer: each layer
 * has its own sequence numbers) and decides once per packet whether it starts a key
 * frame. Each sink picks the simulcast layer it sends.
 */
export class RtpFanout<S extends RtpSink = RtpSink> implements LiveReader {
  readonly streamId: string;
  readonly sinks = new Set<S>();
  /** Packets kept for NACKs: `audio`, `video` (one encoding) and `video:<rid>` (simulcast layers). */
  readonly #buffers = new Map<string, RetransmitBuffer>();
  readonly #o: RtpFanoutOptions<S>;
  #source: LiveSource | null = null;
  #videoCodec: VideoCodec | null = null;
  #off: () => void = () => undefined;
  #top: { atMs: number; rid: string | null } = { atMs: -Infinity, rid: null };

  constructor(o: RtpFanoutOptions<S>) {
    this.streamId = o.streamId;
    this.#o = o;
  }

  #buffer(kind: 'video' | 'audio', rid: string | null): RetransmitBuffer {
    const key = rid === null ? kind : `${kind}:${rid}`;
    let b = this.#buffers.get(key);
    if (!b) {
      b = new RetransmitBuffer(this.#o.retransmitPackets);
      this.#buffers.set(key, b);
    }
    return b;
  }

  get source(): LiveSource | null {
    return this.#source;
  }

  attach(source: LiveSource, takeover: boolean): void {
    this.#off();
    this.#source = source;
    this.#videoCodec = source.video?.codec ?? null;
    this.#buffers.clear();
    this.#top = { atMs: -Infinity, rid: null };
    if (takeover) {
      for (const s of [...this.sinks]) {
        // A sink negotiated one video codec: one it cannot decode is not sent, it ends.
        if (s.sourceChanged(this.#videoCodec)) continue;
        this.#o.onCodecChanged(s, s.videoCodec, this.#videoCodec);
      }
    }
    this.#off = source.onRtp((kind, rtp, at, rid) => this.#fanOut(kind, rtp, at, rid));
    if (takeover && this.sinks.size > 0) source.requestKeyframe();
  }

  streamEnded(reason: string): void {
    this.#off();
    this.#source = null;
    this.#o.onStreamEnded(reason);
  }

  /** Asks the source for a key frame (a sink joined, or asked with PLI/FIR): of layer `rid`, if given. */
  requestKeyframe(rid?: string): void {
    this.#source?.requestKeyframe(rid);
  }

  /** The original packet behind a NACKed one (of simulcast layer `rid`, if given). */
  retransmit(kind: 'video' | 'audio', seq: number, rid: string | null = null): RtpPacket | undefined {
    return this.#buffers.get(rid === null ? kind : `${kind}:${rid}`)?.get(seq);
  }

  /** Stops forwarding (the owner removed it from the stream). */
  close(): void {
    this.#off();
    this.#source = null;
  }

  /** The source's highest layer, looked up at most every TOP_LAYER_REFRESH_MS (not per packet). */
  #topLayer(nowMs: number): string | null {
    if (nowMs - this.#top.atMs >= TOP_LAYER_REFRESH_MS) {
      this.#top = { atMs: nowMs, rid: this.#source?.video?.layer ?? null };
    }
    return this.#top.rid;
  }

  #fanOut(kind: 'video' | 'audio', rtp: RtpPacket, at: number, rid: string | null): void {
    this.#buffer(kind, rid).push(rtp);
    if (this.sinks.size === 0) return;
    const source = `${this.#source?.sessionId ?? ''}:${rtp.header.ssrc}`;
    const key =
      kind === 'video' && this.#videoCodec !== null && startsKeyframe(this.#videoCodec, rtp.payload);
    const layer = rid === null ? undefined : { rid, top: this.#topLayer(at) };
    for (const s of this.sinks) {
      try {
        s.forward(kind, source, rtp, key, at, layer);
      } catch (e) {
        this.#o.log.warn(
          { err: e, streamId: this.streamId, viewerId: s.sessionId },
          'forwarding to a viewer failed',
        );
      }
    }
  }
}

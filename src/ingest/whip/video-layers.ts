import type { RTCRtpReceiver, RtpPacket } from 'werift';
import type { MediaFrame, VideoTrackInfo } from '../../core/media.js';
import type { VideoIngestStats, VideoLayerStats } from '../../core/streams.js';
import { TopLayerSelector } from '../rtp/layer-selector.js';
import type { MediaEpoch } from '../rtp/media-clock.js';
import { VideoReceiver } from '../rtp/video-receiver.js';
import type { NegotiatedVideo } from '../sdp/offer.js';
import { KeyframeRequester } from './keyframe-requester.js';
import { nackPerSsrc } from './layer-nack.js';

export interface VideoLayersOptions {
  video: NegotiatedVideo;
  receiver: RTCRtpReceiver;
  epoch: MediaEpoch;
  keyframeMinIntervalMs: number;
  /** Video frames handed on: the only layer's, or the selected simulcast layer's. */
  onFrame: (frame: MediaFrame) => void;
  /** Every layer's frames, before the selection (rid null: the one encoding). */
  onLayerFrame?: (rid: string | null, frame: MediaFrame) => void;
  wallMs: () => number;
}

/** One received video stream: a simulcast layer (rid), or the session's one encoding (rid null). */
class Layer {
  readonly rid: string | null;
  readonly receiver: VideoReceiver;
  readonly requester: KeyframeRequester;
  ssrc: number | null = null;
  nacksSent = 0;

  constructor(rid: string | null, receiver: VideoReceiver, requester: KeyframeRequester) {
    this.rid = rid;
    this.receiver = receiver;
    this.requester = requester;
  }

  stats(nowMs: number): Omit<VideoIngestStats, 'layer' | 'layers'> {
    return {
      ...this.receiver.stats(nowMs),
      nacksSent: this.nacksSent,
      plisSent: this.requester.plisSent,
      firsSent: this.requester.firsSent,
    };
  }
}

/**
 * A publish session's video: one receive path (reorder, NACK, depacketize, key frame
 * gate, clock) per layer, so simulcast layers are received, reordered and NACKed each
 * on its own, with key frame requests (PLI/FIR) to each layer's SSRC. One encoding is
 * one layer. Of simulcast layers, the frames of the highest being sent are handed on
 * (TopLayerSelector); the others reach WHEP viewers as RTP only.
 */
export class VideoLayers {
  readonly #o: VideoLayersOptions;
  readonly #layers: Layer[];
  readonly #byRid = new Map<string, Layer>();
  readonly #selector: TopLayerSelector | null;
  #lastUs = -1;

  constructor(o: VideoLayersOptions) {
    this.#o = o;
    const rids: (string | null)[] = o.video.rids.length > 0 ? o.video.rids : [null];
    this.#selector = o.video.rids.length > 0 ? new TopLayerSelector({ rids: o.video.rids }) : null;
    if (this.#selector) nackPerSsrc(o.receiver);
    this.#layers = rids.map((rid) => {
      const requester = new KeyframeRequester(o.receiver, o.video.feedback, o.keyframeMinIntervalMs);
      const receiver = new VideoReceiver({
        codec: o.video.codec,
        parameterSets: o.video.parameterSets,
        epoch: o.epoch,
        onFrame: (f) => this.#frame(layer, f),
        onKeyframeNeeded: () => requester.request(o.wallMs()),
      });
      const layer: Layer = new Layer(rid, receiver, requester);
      if (rid !== null) this.#byRid.set(rid, layer);
      return layer;
    });
  }

  /** The layer of a received track: its rid's, or the one encoding's. */
  #layer(rid: string | null): Layer | undefined {
    return rid === null ? (this.#selector ? undefined : this.#layers[0]) : this.#byRid.get(rid);
  }

  push(rtp: RtpPacket, arrivalMs: number, rid: string | null): void {
    const layer = this.#layer(rid);
    if (!layer) return;
    if (layer.ssrc !== rtp.header.ssrc) {
      layer.ssrc = rtp.header.ssrc;
      layer.requester.mediaSsrc = rtp.header.ssrc;
    }
    layer.receiver.push(rtp, arrivalMs);
  }

  /** A NACK went out (werift's onPacketLost): counted on the layer of its SSRC. */
  nackSent(mediaSsrc: number): void {
    const layer =
      this.#layers.find((l) => l.ssrc === mediaSsrc) ?? (this.#selector ? undefined : this.#layers[0]);
    if (layer) layer.nacksSent++;
  }

  poll(nowMs: number): void {
    for (const l of this.#layers) l.receiver.poll(nowMs);
    const wanted = this.#selector?.wanted(nowMs);
    if (wanted) this.#byRid.get(wanted)?.requester.request(nowMs);
  }

  /** Asks for a key frame: of layer `rid`, else of the layer whose frames are handed on (all before one is). */
  requestKeyframe(nowMs: number, rid?: string): void {
    const one = rid !== undefined ? this.#byRid.get(rid) : this.#current();
    for (const l of one ? [one] : this.#layers) l.requester.request(nowMs);
  }

  #current(): Layer | undefined {
    if (!this.#selector) return this.#layers[0];
    const rid = this.#selector.current;
    return rid === null ? undefined : this.#byRid.get(rid);
  }

  #frame(layer: Layer, f: MediaFrame): void {
    this.#o.onLayerFrame?.(layer.rid, f);
    if (this.#selector && layer.rid !== null) {
      const r = layer.receiver;
      const now = this.#o.wallMs();
      if (!this.#selector.frame(layer.rid, { keyframe: f.keyframe, width: r.width, height: r.height }, now)) {
        const wanted = this.#selector.wanted(now);
        if (wanted) this.#byRid.get(wanted)?.requester.request(now);
        return;
      }
    }
    // Layers have clocks of their own: a switch must not take frame times backwards.
    const timeUs = Math.max(f.timeUs, this.#lastUs + 1);
    this.#lastUs = timeUs;
    this.#o.onFrame(timeUs === f.timeUs ? f : { ...f, timeUs });
  }

  /** What the track is: the size and profile of the layer handed on, and every layer. */
  info(): VideoTrackInfo {
    const layer = this.#current() ?? this.#layers[0]!;
    const v = layer.receiver;
    const info: VideoTrackInfo = { codec: v.codec, width: v.width, height: v.height };
    if (v.profileLevelId !== undefined) info.profileLevelId = v.profileLevelId;
    if (v.profileIdc !== undefined) info.profileIdc = v.profileIdc;
    if (this.#selector) {
      info.layers = this.#layers.map((l) => ({
        rid: l.rid!,
        width: l.receiver.width,
        height: l.receiver.height,
      }));
      const top = this.#selector.current ?? this.#selector.target(this.#o.wallMs());
      if (top !== null) info.layer = top;
    }
    return info;
  }

  stats(nowMs: number): VideoIngestStats {
    const current = this.#current() ?? this.#layers[0]!;
    const s: VideoIngestStats = current.stats(nowMs);
    if (this.#selector) {
      if (current.rid !== null && this.#selector.current !== null) s.layer = current.rid;
      s.layers = this.#layers.map((l): VideoLayerStats => {
        const { codec: _codec, ...rest } = l.stats(nowMs);
        return { rid: l.rid!, ...rest };
      });
    }
    return s;
  }
}

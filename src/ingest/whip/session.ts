import { randomBytes } from 'node:crypto';
import { RtcpSrPacket, type RTCPeerConnection, type RTCRtpTransceiver, type RtpPacket } from 'werift';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { AudioTrackInfo, MediaFrame, VideoTrackInfo } from '../../core/media.js';
import type { LayerFrameListener, LiveSource, RtpListener } from '../../live/index.js';
import type { IngestStats } from '../../core/streams.js';
import { AudioReceiver } from '../rtp/audio-receiver.js';
import { MediaEpoch } from '../rtp/media-clock.js';
import { ntpToMs } from '../rtp/sender-report.js';
import { PeerSignaling } from '../peer/signaling.js';
import type { NegotiatedOffer } from '../sdp/offer.js';
import { answerOffer, createIngestPeer, type PeerNetworkOptions } from './peer.js';
import { VideoLayers } from './video-layers.js';

/**
 * Why a session ended: `deleted` (DELETE), `takeover` (a new publish replaced it),
 * `ice-failed` (ICE failed or consent expired), `peer-closed` (the publisher closed the
 * connection), `media-timeout`, `shutdown` (the registry closed).
 */
export type SessionEndReason =
  'deleted' | 'takeover' | 'ice-failed' | 'peer-closed' | 'media-timeout' | 'shutdown';

export interface WhipSessionOptions {
  streamId: string;
  offer: NegotiatedOffer;
  network: PeerNetworkOptions;
  /** The session ends when no RTP arrives for this long (from its start, too). */
  mediaTimeoutMs: number;
  /** Key frame requests go out at most this often. @defaultValue 500 */
  keyframeMinIntervalMs?: number;
  log: Logger;
}

/** Wall clock in fractional epoch milliseconds. */
function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One WHIP publish: owns its RTCPeerConnection and turns what it receives into frames on
 * one clock, and hands on its RTP as received (LiveSource). Ends once, for one reason; close() is idempotent and returns
 * the same promise on every call.
 */
export class WhipSession implements LiveSource {
  readonly streamId: string;
  readonly sessionId = randomBytes(16).toString('base64url');
  readonly startedAtMs = Date.now();
  /** The SDP answer, holding every server candidate. */
  answer = '';
  readonly #pc: RTCPeerConnection;
  readonly #opts: WhipSessionOptions;
  readonly #log: Logger;
  readonly #epoch = new MediaEpoch();
  readonly #frameListeners = new Set<(frame: MediaFrame) => void>();
  readonly #layerListeners = new Set<LayerFrameListener>();
  readonly #endListeners = new Set<(reason: string) => void>();
  readonly #rtpListeners = new Set<RtpListener>();
  readonly #disposers: (() => void)[] = [];
  #video: VideoLayers | null = null;
  #audio: AudioReceiver | null = null;
  /** A sender report has come (logged once). */
  #reported = false;
  /** RTP packets the receive path threw on (logged once). */
  #badPackets = 0;
  #lastMediaMs = wallMs();
  #timer: NodeJS.Timeout | null = null;
  /** ICE for PATCH: trickle, restart, the entity tag (what the session routes call). */
  readonly signaling: PeerSignaling;
  #endReason: SessionEndReason | null = null;
  /** False for a session whose negotiation failed: it never ran, so its end is not logged. */
  #started = true;
  #closing: Promise<void> | null = null;

  private constructor(opts: WhipSessionOptions, pc: RTCPeerConnection) {
    this.streamId = opts.streamId;
    this.#opts = opts;
    this.#pc = pc;
    this.#log = opts.log.child({ streamId: opts.streamId, sessionId: this.sessionId });
    this.signaling = new PeerSignaling(pc, opts.offer, opts.network, this.#log, () => !this.ended);
  }

  /**
   * Creates the peer, applies the (already negotiated) offer and waits for the answer.
   * A failure closes the peer and throws a `bad_request` AppError (`unavailable` when no
   * ICE port is free).
   */
  static async start(opts: WhipSessionOptions): Promise<WhipSession> {
    const s = new WhipSession(opts, createIngestPeer(opts.network));
    try {
      s.answer = await answerOffer(s.#pc, opts.offer.sdp, opts.network);
      s.#wire();
    } catch (e) {
      s.#started = false;
      await s.close('shutdown');
      if (e instanceof AppError && e.code === 'unavailable') throw e;
      throw new AppError('bad_request', `the offer could not be applied: ${errorMessage(e)}`, { cause: e });
    }
    return s;
  }

  #wire(): void {
    const { offer } = this.#opts;
    const transceivers = this.#pc.getTransceivers();
    const byMid = (mid: string) => transceivers.find((t) => t.mid === mid);
    const video = offer.video ? byMid(offer.video.mid) : undefined;
    const audio = offer.audio ? byMid(offer.audio.mid) : undefined;
    if (offer.video && video) {
      const layers = new VideoLayers({
        video: offer.video,
        receiver: video.receiver,
        epoch: this.#epoch,
        keyframeMinIntervalMs: this.#opts.keyframeMinIntervalMs ?? 500,
        onFrame: (f) => this.#emit(f),
        onLayerFrame: (rid, f) => this.#emitLayer(rid, f),
        wallMs,
      });
      this.#video = layers;
      this.#subscribe(video, 'video', (rtp, at, rid) => layers.push(rtp, at, rid));
      const nacks = video.receiver.onPacketLost.subscribe((nack) => layers.nackSent(nack.mediaSourceSsrc));
      this.#disposers.push(nacks.unSubscribe);
    }
    if (offer.audio && audio) {
      const receiver = new AudioReceiver({ epoch: this.#epoch, onFrame: (f) => this.#emit(f) });
      this.#audio = receiver;
      this.#subscribe(audio, 'audio', (rtp, at) => receiver.push(rtp, at));
    }
    this.#senderReports();
    const state = this.#pc.connectionStateChange.subscribe((s) => {
      this.#log.debug({ connectionState: s }, 'connection state');
      if (s === 'failed') void this.close('ice-failed');
      else if (s === 'closed') void this.close('peer-closed');
    });
    this.#disposers.push(state.unSubscribe);
    const tickMs = Math.max(50, Math.min(1000, Math.floor(this.#opts.mediaTimeoutMs / 4)));
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  #subscribe(
    t: RTCRtpTransceiver,
    kind: 'video' | 'audio',
    push: (rtp: RtpPacket, arrivalMs: number, rid: string | null) => void,
  ): void {
    // One track per SSRC the offer announced (negotiateOffer requires a=ssrc), or per
    // simulcast rid (werift routes those by the rid header extension).
    for (const track of t.receiver.tracks) {
      const rid = track.rid ?? null;
      const sub = track.onReceiveRtp.subscribe((rtp) => {
        if (this.#endReason !== null) return;
        const at = wallMs();
        this.#lastMediaMs = at;
        try {
          push(rtp, at, rid);
          for (const l of this.#rtpListeners) l(kind, rtp, at, rid);
        } catch (e) {
          // A malformed packet must not take the receive path (or the process) down.
          this.#badPackets++;
          if (this.#badPackets === 1)
            this.#log.warn({ err: e }, 'dropped an RTP packet that could not be processed');
        }
      });
      this.#disposers.push(sub.unSubscribe);
    }
  }

  /**
   * Hands every RTCP sender report to the session clock, which maps each SSRC's RTP time
   * through its latest one (audio, video and each simulcast layer on one clock). Taken
   * from the DTLS transport, before werift's router: the router hands a report only to a
   * receiver that has the SSRC in its table, which a simulcast layer routed by rid is not
   * until it sends packets without the rid. One transport: the peer bundles everything.
   */
  #senderReports(): void {
    for (const transport of this.#pc.dtlsTransports) {
      const sub = transport.onRtcp.subscribe((packet) => {
        if (this.#endReason !== null || !(packet instanceof RtcpSrPacket)) return;
        const { ntpTimestamp, rtpTimestamp } = packet.senderInfo;
        if (!this.#reported) {
          this.#reported = true;
          this.#log.debug({ ssrc: packet.ssrc }, 'first RTCP sender report: tracks go on the sender clock');
        }
        this.#epoch.senderReport({ ssrc: packet.ssrc, ntpMs: ntpToMs(BigInt(ntpTimestamp)), rtpTimestamp });
      });
      this.#disposers.push(sub.unSubscribe);
    }
  }

  #tick(): void {
    const now = wallMs();
    this.#video?.poll(now);
    this.#audio?.poll(now);
    if (now - this.#lastMediaMs > this.#opts.mediaTimeoutMs) void this.close('media-timeout');
  }

  #emit(frame: MediaFrame): void {
    for (const l of this.#frameListeners) {
      try {
        l(frame);
      } catch (e) {
        this.#log.error({ err: e }, 'a frame listener threw');
      }
    }
  }

  #emitLayer(rid: string | null, frame: MediaFrame): void {
    for (const l of this.#layerListeners) {
      try {
        l(rid, frame);
      } catch (e) {
        this.#log.error({ err: e }, 'a layer frame listener threw');
      }
    }
  }

  // LiveSource

  get epochMs(): number {
    // Media time 0 is the first frame's arrival; until then the session's start stands in.
    return this.#epoch.epochMs ?? this.startedAtMs;
  }

  get video(): VideoTrackInfo | null {
    return this.#video?.info() ?? null;
  }

  get audio(): AudioTrackInfo | null {
    return this.#audio ? { codec: 'opus', sampleRate: 48000, channels: 2 } : null;
  }

  get ended(): boolean {
    return this.#endReason !== null;
  }

  get endReason(): SessionEndReason | null {
    return this.#endReason;
  }

  get connectionState(): string {
    return this.#pc.connectionState;
  }

  onFrame(listener: (frame: MediaFrame) => void): () => void {
    if (this.ended) return () => undefined;
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  onLayerFrame(listener: LayerFrameListener): () => void {
    if (this.ended) return () => undefined;
    this.#layerListeners.add(listener);
    return () => this.#layerListeners.delete(listener);
  }

  onEnd(listener: (reason: string) => void): () => void {
    if (this.ended) return () => undefined;
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  /** Taps the received RTP (WHEP forwarding); returns the unsubscribe. */
  onRtp(listener: RtpListener): () => void {
    if (this.ended) return () => undefined;
    this.#rtpListeners.add(listener);
    return () => this.#rtpListeners.delete(listener);
  }

  requestKeyframe(rid?: string): void {
    this.#video?.requestKeyframe(wallMs(), rid);
  }

  stats(): IngestStats {
    const now = wallMs();
    return {
      sessionId: this.sessionId,
      startedAt: new Date(this.startedAtMs).toISOString(),
      connectionState: this.#pc.connectionState,
      video: this.#video ? this.#video.stats(now) : null,
      audio: this.#audio ? this.#audio.stats(now) : null,
    };
  }

  /** Ends the session (once): listeners hear `reason`, then the peer connection closes. */
  close(reason: SessionEndReason = 'shutdown'): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#endReason = reason;
    if (this.#timer) clearInterval(this.#timer);
    for (const dispose of this.#disposers.splice(0)) dispose();
    this.#frameListeners.clear();
    this.#layerListeners.clear();
    this.#rtpListeners.clear();
    if (this.#started) this.#log.info({ reason }, 'publish session ended');
    const listeners = [...this.#endListeners];
    this.#endListeners.clear();
    for (const l of listeners) {
      try {
        l(reason);
      } catch (e) {
        this.#log.error({ err: e }, 'an end listener threw');
      }
    }
    this.#closing = this.#pc.close().catch((e: unknown) => {
      this.#log.warn({ err: e }, 'closing the peer connection failed');
    });
    return this.#closing;
  }
}

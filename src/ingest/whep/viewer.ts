import { randomBytes, randomInt } from 'node:crypto';
import {
  MediaStreamTrack,
  ntpTime,
  ProtectionProfileAes128CmHmacSha1_80,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtpHeader,
  RTP_EXTENSION_URI,
  serializeSdesMid,
  useH264,
  useOPUS,
  useREMB,
  useAbsSendTime,
  useSdesMid,
  useVP8,
  useVP9,
  type RTCDtlsTransport,
  type RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { VideoCodec } from '../../core/media.js';
import type { WhepViewerStats } from '../../core/streams.js';
import { PeerSignaling } from '../peer/signaling.js';
import {
  answerOffer,
  createPeer,
  useAV1,
  useH265,
  videoFeedback,
  type PeerNetworkOptions,
} from '../whip/peer.js';
import type { NegotiatedViewerOffer, ViewerTrackChoice } from './offer.js';
import type { SimulcastPacket } from '../../live/index.js';
import { LayerFollower } from './layer-follower.js';
import { TrackRewriter } from './rewriter.js';
import { FastSrtp } from './srtp-sender.js';
import { followedEstimate, fractionLostOf, rembBitrate, ViewerBandwidth } from './bandwidth-estimate.js';
import { RungChoice, type RungOption } from './rung-choice.js';
import type { RungFeed, RungPacket } from './rung-feed.js';
import { ViewerMode, type WhepMode } from './viewer-mode.js';

/** `codec-changed`: a takeover changed the video codec to one the viewer did not negotiate. */
export type ViewerEndReason =
  'deleted' | 'stream-ended' | 'ice-failed' | 'peer-closed' | 'codec-changed' | 'shutdown';

/** A viewer's counters (summed per stream for the viewers that left); see WhepViewerStats. */
export type ViewerStats = Omit<
  WhepViewerStats,
  | 'viewerId'
  | 'since'
  | 'connectionState'
  | 'layer'
  | 'mode'
  | 'sending'
  | 'rung'
  | 'estimateBps'
  | 'pinned'
  | 'trial'
>;

export const zeroViewerStats = (): ViewerStats => ({
  packetsSent: 0,
  bytesSent: 0,
  packetsDropped: 0,
  packetsBeforeKeyframe: 0,
  retransmitted: 0,
  resendsSkipped: 0,
  nacksReceived: 0,
  plisReceived: 0,
  firsReceived: 0,
});

export interface WhepViewerOptions {
  streamId: string;
  offer: NegotiatedViewerOffer;
  /** The published video codec (the viewer's video m-line carries that). */
  videoCodec: VideoCodec | null;
  network: PeerNetworkOptions;
  /** Packets handed to the socket and not yet sent, per viewer; beyond: dropped and counted. */
  maxQueuedPackets: number;
  /** A viewer asked for a key frame (PLI/FIR), or needs one to start or switch: of simulcast layer `rid` if given. */
  onKeyframeNeeded: (rid?: string) => void;
  /** The original packet behind a NACKed one, from the stream's retransmission buffer (of layer `rid`). */
  retransmit: (kind: 'video' | 'audio', originalSeq: number, rid: string | null) => RtpPacket | undefined;
  /** Simulcast: the layer (rid) the viewer asked for with `?layer=`; null or absent: the highest. */
  layer?: string | null;
  /** `?mode=`; see WhepMode. @defaultValue 'passthrough' */
  mode?: WhepMode;
  /** The ladder as RTP (rung mode, and fast join in passthrough); null: no ladder here. */
  rungs?: RungFeed | null;
  /** `?rendition=`: the rung to stay on, whatever the bandwidth. */
  pinnedRung?: string | null;
  log: Logger;
}

const wallMs = () => performance.timeOrigin + performance.now();

/** Viewers send with AES_CM_128_HMAC_SHA1_80 (every WebRTC stack has it, RFC 8827): FastSrtp protects it cheaply. */
const VIEWER_SRTP_PROFILES = [ProtectionProfileAes128CmHmacSha1_80];

const RESEND_SLOTS = 512;
/**
 * A viewer waiting for a key frame (to start, or to join or switch a simulcast layer)
 * asks again at most this often: a request answered before its DTLS was up, or lost,
 * would otherwise leave it black until the publisher's next key frame on its own
 * (seconds, or never for a sender that only sends them on request).
 */
const KEYFRAME_RETRY_MS = 500;
const RESEND_GUARD_MS = 100;
/** How long a viewer's REMB is taken as a lower bound only (see the REMB handler). */
const REMB_WARMUP_MS = 5000;
/**
 * How long a rung viewer stays below the top before it is given the next rung up on trial
 * (doubled after each failed trial, up to 2 minutes). Chromium's REMB follows what arrives,
 * so without trials a viewer that once went down would stay down for good.
 */
const RUNG_TRIAL_AFTER_MS = 15_000;

/** One send track of a viewer: its SSRC, payload type and rewriter; video waits for a key frame. */
class ViewerTrack {
  readonly kind: 'video' | 'audio';
  readonly payloadType: number;
  readonly ssrc: number;
  readonly rewriter: TrackRewriter;
  readonly transceiver: RTCRtpTransceiver;
  midExtension: { id: number; payload: Buffer } | null = null;
  /**
   * The abs-send-time extension's id, when negotiated: with the send time in each packet,
   * a libwebrtc receiver measures its delay against when we sent (its REMB estimator for
   * abs-send-time), not against the RTP timestamps, which our pacing does not follow to
   * the millisecond.
   */
  absSendTimeId: number | null = null;
  #absSendTimeAt = -1;
  /** The RTP header this track sends, rewritten in place per packet (see setHeader). */
  header = Buffer.alloc(12);
  waitingForKeyframe: boolean;
  packets = 0;
  octets = 0;
  /**
   * The last resend of each recent sequence number (slot = seq & mask): a receiver repeats
   * its NACK list until the packet arrives, and a loaded one NACKs packets that are merely
   * late, so a packet is resent at most once per RESEND_GUARD_MS (libwebrtc does the same
   * with the RTT).
   */
  readonly resentSeq = new Int32Array(RESEND_SLOTS).fill(-1);
  readonly resentAt = new Float64Array(RESEND_SLOTS);

  constructor(choice: ViewerTrackChoice & { payloadType: number }, t: RTCRtpTransceiver) {
    this.kind = choice.kind;
    this.payloadType = choice.payloadType;
    this.transceiver = t;
    this.ssrc = t.sender.ssrc;
    this.rewriter = new TrackRewriter(choice.clockRate, randomInt(0, 0x8000), randomInt(0, 2 ** 31));
    this.waitingForKeyframe = choice.kind === 'video';
  }

  /**
   * Builds the header template: version 2, the SSRC, and the RFC 8285 one-byte extensions
   * negotiated: the mid, and abs-send-time, which setHeader stamps per packet.
   */
  prepareHeader(): void {
    const mid = this.midExtension;
    const midBytes = mid
      ? Buffer.concat([Buffer.from([(mid.id << 4) | (mid.payload.length - 1)]), mid.payload])
      : Buffer.alloc(0);
    const absBytes =
      this.absSendTimeId === null ? Buffer.alloc(0) : Buffer.from([(this.absSendTimeId << 4) | 2, 0, 0, 0]);
    const elements = Buffer.concat([midBytes, absBytes]);
    // Its 3 bytes follow the fixed header (12), the 0xBEDE word (4), the mid and its own id byte.
    this.#absSendTimeAt = absBytes.length > 0 ? 16 + midBytes.length + 1 : -1;
    const used = elements.length;
    const extLen = Math.ceil(used / 4) * 4;
    const h = Buffer.alloc(12 + (used > 0 ? 4 + extLen : 0));
    h[0] = used > 0 ? 0x90 : 0x80;
    h.writeUInt32BE(this.ssrc >>> 0, 8);
    if (used > 0) {
      h.writeUInt16BE(0xbede, 12);
      h.writeUInt16BE(extLen / 4, 14);
      elements.copy(h, 16);
    }
    this.header = h;
  }

  /** The header of one packet (the template, rewritten in place). */
  setHeader(marker: boolean, seq: number, ts: number): Buffer {
    const h = this.header;
    h[1] = (marker ? 0x80 : 0) | this.payloadType;
    h.writeUInt16BE(seq, 2);
    h.writeUInt32BE(ts >>> 0, 4);
    if (this.#absSendTimeAt > 0) h.writeUIntBE(absSendTime(), this.#absSendTimeAt, 3);
    return h;
  }

  /** The header extensions werift's own send path is given (before the fast path is up). */
  extensions(): { id: number; payload: Buffer }[] {
    const out = this.midExtension ? [this.midExtension] : [];
    if (this.absSendTimeId !== null) {
      const payload = Buffer.alloc(3);
      payload.writeUIntBE(absSendTime(), 0, 3);
      out.push({ id: this.absSendTimeId, payload });
    }
    return out;
  }
}

/**
 * Now as abs-send-time has it: seconds in 6.18 fixed point, 24 bits (wrapping every 64 s).
 * Only differences between packets matter to the receiver, so any epoch does.
 */
function absSendTime(): number {
  return Math.round(performance.now() * 262.144) & 0xffffff;
}

function viewerPeer(network: PeerNetworkOptions, videoCodec: VideoCodec | null): RTCPeerConnection {
  // REMB: the viewer's bandwidth estimate, which rung mode follows.
  const rtcpFeedback = [...videoFeedback(), useREMB()];
  const video: Record<VideoCodec, () => RTCRtpCodecParameters[]> = {
    h264: () => [useH264({ rtcpFeedback })],
    h265: () => [useH265(rtcpFeedback)],
    av1: () => [useAV1(rtcpFeedback)],
    vp8: () => [useVP8({ rtcpFeedback })],
    vp9: () => [useVP9({ rtcpFeedback })],
  };
  return createPeer(network, {
    // A stream without video still answers the viewer's video m-line (it stays silent).
    video: videoCodec ? video[videoCodec]() : [...video.h264(), ...video.vp8(), ...video.vp9()],
    audio: [useOPUS()],
    headerExtensions: { video: [useSdesMid(), useAbsSendTime()], audio: [useSdesMid()] },
  });
}

/**
 * One WHEP viewer: owns its RTCPeerConnection (sendonly) and sends it the publisher's RTP
 * with its own SSRC, payload type, sequence numbers and timestamps, never waiting on the
 * socket: at most `maxQueuedPackets` are in flight, the rest dropped and counted. Ends
 * once; close() is idempotent.
 */
export class WhepViewer {
  readonly streamId: string;
  readonly sessionId = randomBytes(16).toString('base64url');
  answer = '';
  readonly startedAtMs = Date.now();
  readonly stats: ViewerStats = zeroViewerStats();
  readonly #opts: WhepViewerOptions;
  readonly #pc: RTCPeerConnection;
  readonly #log: Logger;
  readonly #tracks: { video: ViewerTrack | null; audio: ViewerTrack | null } = { video: null, audio: null };
  readonly #endListeners = new Set<(reason: ViewerEndReason) => void>();
  readonly #disposers: (() => void)[] = [];
  /** ICE for PATCH: trickle, restart, the entity tag (what the session routes call). */
  readonly signaling: PeerSignaling;
  /** SRTP fast path, once DTLS is up (undefined: not looked up yet; null: werift's path). */
  #srtp: FastSrtp | null | undefined;
  #transport: RTCDtlsTransport | null = null;
  readonly #sent = (): void => {
    this.#queued--;
  };
  #queued = 0;
  /** Simulcast: which layer this viewer gets (each layer is a stream of its own). */
  readonly #layer: LayerFollower;
  #keyframeAskedMs = -Infinity;
  readonly #mode: ViewerMode;
  readonly #bandwidth = new ViewerBandwidth();
  #choice: RungChoice | null = null;
  #sentAt = { ms: 0, bytes: 0, video: 0 };
  /** What this viewer was sent over the last adapt() period, bits/s. */
  #sendingBps = 0;
  /** The video part of it (RTP payload), which a REMB is about. */
  #videoSendingBps = 0;
  #firstSentMs: number | null = null;
  /** The audio rendition of the ladder this viewer's audio last came from (NACKs). */
  #rungAudio = '';
  #endReason: ViewerEndReason | null = null;
  #closing: Promise<void> | null = null;

  private constructor(opts: WhepViewerOptions) {
    this.streamId = opts.streamId;
    this.#opts = opts;
    this.#pc = viewerPeer(opts.network, opts.videoCodec);
    this.#layer = new LayerFollower(opts.layer ?? null, wallMs());
    this.#mode = new ViewerMode(opts.mode ?? 'passthrough', opts.pinnedRung ?? null);
    this.#log = opts.log.child({ streamId: opts.streamId, viewerId: this.sessionId });
    this.signaling = new PeerSignaling(this.#pc, opts.offer, opts.network, this.#log, () => !this.ended);
  }

  /** Applies the (negotiated) offer; a failure closes the peer and throws `bad_request`. */
  static async start(opts: WhepViewerOptions): Promise<WhepViewer> {
    const v = new WhepViewer(opts);
    try {
      const { offer } = opts;
      const kinds = [offer.video, offer.audio].filter((c): c is ViewerTrackChoice => c !== null);
      const transceivers = new Map<string, RTCRtpTransceiver>();
      for (const c of kinds) {
        const t = v.#pc.addTransceiver(new MediaStreamTrack({ kind: c.kind }), { direction: 'sendonly' });
        transceivers.set(c.kind, t);
      }
      v.answer = await answerOffer(v.#pc, offer.sdp, opts.network, VIEWER_SRTP_PROFILES);
      for (const c of kinds) {
        const t = transceivers.get(c.kind)!;
        if (c.payloadType === null) continue;
        const track = new ViewerTrack({ ...c, payloadType: c.payloadType }, t);
        const ext = t.headerExtensions.find((e) => e.uri === RTP_EXTENSION_URI.sdesMid);
        if (ext && t.mid) track.midExtension = { id: ext.id, payload: serializeSdesMid(t.mid) };
        track.absSendTimeId =
          t.headerExtensions.find((e) => e.uri === RTP_EXTENSION_URI.absSendTime)?.id ?? null;
        track.prepareHeader();
        v.#tracks[c.kind] = track;
        v.#wireFeedback(track);
      }
      const state = v.#pc.connectionStateChange.subscribe((s) => {
        if (s === 'connected') opts.onKeyframeNeeded(v.#layer.current ?? opts.layer ?? undefined);
        else if (s === 'failed') void v.close('ice-failed');
        else if (s === 'closed') void v.close('peer-closed');
      });
      v.#disposers.push(state.unSubscribe);
    } catch (e) {
      await v.close('shutdown');
      if (e instanceof AppError) throw e;
      throw new AppError('bad_request', `the offer could not be applied: ${errorMessage(e)}`, { cause: e });
    }
    return v;
  }

  #wireFeedback(track: ViewerTrack): void {
    const sender = track.transceiver.sender;
    const nack = sender.onGenericNack.subscribe((fb) => {
      this.stats.nacksReceived++;
      for (const seq of fb.lost) this.#resend(track, seq);
    });
    const rtcp = sender.onRtcp.subscribe((p) => {
      if (track.kind === 'video') {
        const lost = fractionLostOf(p, track.ssrc);
        if (lost !== null) this.#bandwidth.onReceiverReport(lost, wallMs());
      }
      if (p.type !== RtcpPayloadSpecificFeedback.type) return;
      const remb = rembBitrate(p as RtcpPayloadSpecificFeedback);
      if (remb !== null) {
        const now = wallMs();
        // libwebrtc's receive-side estimate starts at about what arrives and ramps up (8 %/s,
        // to 1.5 times that) over its first seconds: measured from Chromium, 713 kb/s while
        // 765 kb/s of 360p arrived. Until then only a clear cap (under half of what is sent) counts.
        const young = this.#firstSentMs === null || now - this.#firstSentMs < REMB_WARMUP_MS;
        if (young && remb > 0.5 * this.#sendingBps) return;
        this.#bandwidth.onRemb(remb, now);
        return;
      }
      const count = (p as RtcpPayloadSpecificFeedback).feedback?.count;
      if (count === 1) this.stats.plisReceived++;
      else if (count === 4) this.stats.firsReceived++;
      else return;
      this.#opts.onKeyframeNeeded(this.#layer.current ?? undefined);
    });
    this.#disposers.push(nack.unSubscribe, rtcp.unSubscribe);
  }

  get ended(): boolean {
    return this.#endReason !== null;
  }

  /** The video codec this viewer negotiated (null: its video m-line carries nothing). */
  get videoCodec(): VideoCodec | null {
    return this.#tracks.video ? this.#opts.videoCodec : null;
  }

  /** This viewer's figures, for GET /api/streams/{stream}. */
  view(): WhepViewerStats {
    const s = this.#mode.sending;
    const estimate = this.#bandwidth.estimateBps;
    const pinned = this.#opts.pinnedRung ?? null;
    return {
      viewerId: this.sessionId,
      mode: this.#mode.mode,
      sending: s.on,
      ...(s.on === 'rung' ? { rung: s.rung } : {}),
      ...(pinned !== null ? { pinned } : {}),
      ...(this.#choice?.onTrial === true && pinned === null ? { trial: true } : {}),
      ...(estimate !== null ? { estimateBps: Math.round(estimate) } : {}),
      ...(this.#layer.current !== null ? { layer: this.#layer.current } : {}),
      since: new Date(this.startedAtMs).toISOString(),
      connectionState: this.#pc.connectionState,
      ...this.stats,
    };
  }

  get connectionState(): string {
    return this.#pc.connectionState;
  }

  /** Packets handed to the socket and not yet sent. */
  get queued(): number {
    return this.#queued;
  }

  /** Whether a video track still waits for its first key frame (or the one after a takeover). */
  get waitingForKeyframe(): boolean {
    return this.#tracks.video?.waitingForKeyframe ?? false;
  }

  /**
   * The publisher changed (takeover): video waits for a key frame of the new one. Returns
   * false when the new publisher's video codec is not the one this viewer negotiated: it
   * cannot be sent what it would not decode (the caller ends it).
   */
  sourceChanged(videoCodec: VideoCodec | null): boolean {
    // Rung mode sends the ladder: the publisher's codec does not reach this viewer.
    if (this.#mode.mode === 'rung') return true;
    if (this.#tracks.video && videoCodec !== null && videoCodec !== this.#opts.videoCodec) return false;
    const wasRung = this.#mode.sending.on === 'rung';
    this.#mode.reset();
    if (wasRung) return true;
    const v = this.#tracks.video;
    if (v) v.waitingForKeyframe = true;
    this.#layer.reset();
    this.#tracks.video?.rewriter.rebase();
    this.#tracks.audio?.rewriter.rebase();
    return true;
  }

  /**
   * Sends one packet of the publisher (`source` names its session and SSRC). `keyStart`:
   * the packet starts a key frame; `layer`: a simulcast layer's packet, sent when it is
   * of the layer this viewer gets (LayerFollower). Never blocks; returns whether it was
   * handed on.
   */
  forward(
    kind: 'video' | 'audio',
    source: string,
    rtp: RtpPacket,
    keyStart: boolean,
    nowMs: number,
    layer?: SimulcastPacket,
  ): boolean {
    const track = this.#tracks[kind];
    if (!track || this.#endReason !== null) return false;
    const transport = this.#connectedTransport(track);
    if (!transport) return false;
    if (layer && !this.#followLayer(layer, keyStart, nowMs)) return false;
    if (kind === 'audio' ? !this.#mode.publisherAudio() : !this.#mode.publisherVideo(keyStart)) {
      if (kind === 'video' && this.#mode.mode === 'passthrough') {
        this.stats.packetsBeforeKeyframe++;
        this.#askKeyframe(nowMs, this.#layer.current ?? undefined);
      }
      return false;
    }
    if (track.waitingForKeyframe) {
      if (!keyStart) {
        this.stats.packetsBeforeKeyframe++;
        this.#askKeyframe(nowMs, this.#layer.current ?? undefined);
        return false;
      }
      track.waitingForKeyframe = false;
    }
    const { seq, ts } = track.rewriter.map(source, rtp.header.sequenceNumber, rtp.header.timestamp, nowMs);
    return this.#send(track, transport, rtp, seq, ts);
  }

  /**
   * One packet of the ladder (RungFeed): sent while this viewer is on that rung, or when
   * it starts the rung it wants (a key frame); audio while the video is the ladder's.
   */
  forwardRung(p: RungPacket, nowMs: number): boolean {
    const track = this.#tracks[p.kind];
    if (!track || this.#endReason !== null) return false;
    const transport = this.#connectedTransport(track);
    if (!transport) return false;
    if (p.kind === 'video') {
      if (p.keyStart && this.#mode.wanted === null) this.adapt(nowMs);
      if (!this.#mode.rungVideo(p.rendition, p.keyStart)) return false;
      track.waitingForKeyframe = false;
    } else {
      if (!this.#mode.rungAudio()) return false;
      this.#rungAudio = p.rendition;
    }
    const { seq, ts } = track.rewriter.map(
      p.source,
      p.rtp.header.sequenceNumber,
      p.rtp.header.timestamp,
      nowMs,
    );
    return this.#send(track, transport, p.rtp, seq, ts);
  }

  /**
   * Follows the viewer's bandwidth (REMB, loss) over the ladder's rungs now: the rung it
   * should be on, switched to at that rung's next key frame. Called every half second and
   * when a rung packet finds no choice made yet.
   */
  adapt(nowMs: number): void {
    const feed = this.#opts.rungs;
    if (!feed || this.#endReason !== null) return;
    const audio = feed.audioBitrateBps();
    const rungs: RungOption[] = feed.rungs().map((r) => ({ name: r.name, bitrateBps: r.bitrateBps + audio }));
    if (rungs.length === 0) return;
    // Measured bit rates move with every part; the same rungs keep the chooser's holds.
    if (!this.#choice) this.#choice = new RungChoice(rungs, { trialAfterMs: RUNG_TRIAL_AFTER_MS });
    else this.#choice.setRungs(rungs);
    const elapsed = nowMs - this.#sentAt.ms;
    if (elapsed >= 250) {
      if (this.#sentAt.ms > 0) {
        this.#sendingBps = ((this.stats.bytesSent - this.#sentAt.bytes) * 8 * 1000) / elapsed;
        this.#videoSendingBps =
          (((this.#tracks.video?.octets ?? 0) - this.#sentAt.video) * 8 * 1000) / elapsed;
        this.#bandwidth.onSent(this.#sendingBps, nowMs);
      }
      this.#sentAt = { ms: nowMs, bytes: this.stats.bytesSent, video: this.#tracks.video?.octets ?? 0 };
    }
    this.#bandwidth.advance(nowMs);
    const pinned = this.#opts.pinnedRung ?? null;
    const wanted =
      pinned !== null && rungs.some((r) => r.name === pinned)
        ? pinned
        : this.#choice.update(
            followedEstimate(this.#bandwidth.estimateBps, this.#videoSendingBps, this.#sendingBps),
            nowMs,
            this.#bandwidth.estimateBps,
          );
    if (wanted !== this.#mode.wanted)
      this.#log.debug(
        { from: this.#mode.wanted, to: wanted, estimateBps: this.#bandwidth.estimateBps },
        'rung',
      );
    this.#mode.want(wanted);
  }

  /** Whether a simulcast packet is of this viewer's layer; asks for a key frame of the one it waits for. */
  #followLayer(layer: SimulcastPacket, keyStart: boolean, nowMs: number): boolean {
    const before = this.#layer.current;
    const send = this.#layer.accept(layer.rid, keyStart, nowMs, layer.top);
    if (send) {
      if (before !== this.#layer.current) this.#log.debug({ from: before, to: this.#layer.current }, 'layer');
      return true;
    }
    const wanted = this.#layer.wanted(nowMs, layer.top);
    if (wanted !== null) this.#askKeyframe(nowMs, wanted);
    if (before === null && layer.rid === this.#layer.target(nowMs, layer.top))
      this.stats.packetsBeforeKeyframe++;
    return false;
  }

  #askKeyframe(nowMs: number, rid: string | undefined): void {
    if (nowMs - this.#keyframeAskedMs < KEYFRAME_RETRY_MS) return;
    this.#keyframeAskedMs = nowMs;
    this.#opts.onKeyframeNeeded(rid);
  }

  /** The simulcast layer this viewer gets now (null: not simulcast, or not started). */
  get layer(): string | null {
    return this.#layer.current;
  }

  /** The track's DTLS transport when it is connected (and the SRTP fast path looked up). */
  #connectedTransport(track: ViewerTrack): RTCDtlsTransport | null {
    const transport = track.transceiver.sender.dtlsTransport;
    if (transport?.state !== 'connected') return null;
    if (this.#transport !== transport) {
      this.#transport = transport;
      this.#srtp = FastSrtp.of(transport);
    }
    return transport;
  }

  #resend(track: ViewerTrack, viewerSeq: number): void {
    const slot = viewerSeq & (RESEND_SLOTS - 1);
    const now = performance.now();
    if (track.resentSeq[slot] === viewerSeq && now - (track.resentAt[slot] ?? 0) < RESEND_GUARD_MS) {
      this.stats.resendsSkipped++;
      return;
    }
    const transport = this.#connectedTransport(track);
    if (!transport) return;
    const rid = track.kind === 'video' ? this.#layer.current : null;
    const s = this.#mode.sending;
    const fromLadder = s.on === 'rung' || (track.kind === 'audio' && this.#mode.mode === 'rung');
    const originalSeq = track.rewriter.original(viewerSeq);
    const original = fromLadder
      ? this.#opts.rungs?.retransmit(
          track.kind === 'video' && s.on === 'rung' ? s.rung : this.#rungAudio,
          originalSeq,
        )
      : this.#opts.retransmit(track.kind, originalSeq, rid);
    if (!original) return;
    const ts = track.rewriter.timestamp(original.header.timestamp);
    if (this.#send(track, transport, original, viewerSeq, ts)) {
      this.stats.retransmitted++;
      track.resentSeq[slot] = viewerSeq;
      track.resentAt[slot] = now;
    }
  }

  /**
   * Hands one packet to the socket without waiting: the header is the track's template
   * rewritten in place, the payload the publisher's (shared, never changed); FastSrtp
   * protects it into one new buffer. werift's own path (RtpHeader, its SRTP) only when
   * DTLS negotiated another profile or the payload is too large for the fast path.
   */
  #send(track: ViewerTrack, transport: RTCDtlsTransport, rtp: RtpPacket, seq: number, ts: number): boolean {
    if (this.#queued >= this.#opts.maxQueuedPackets) {
      this.stats.packetsDropped++;
      return false;
    }
    const header = track.setHeader(rtp.header.marker, seq, ts);
    const packet = this.#srtp?.protect(header, rtp.payload) ?? null;
    let sending: Promise<unknown>;
    if (packet) {
      sending = transport.iceTransport.connection.send(packet);
    } else {
      const h = new RtpHeader({
        payloadType: track.payloadType,
        sequenceNumber: seq,
        timestamp: ts,
        ssrc: track.ssrc,
        marker: rtp.header.marker,
        extensions: track.extensions(),
      });
      sending = transport.sendRtp(rtp.payload, h);
    }
    this.#queued++;
    this.#firstSentMs ??= wallMs();
    track.packets++;
    track.octets += rtp.payload.length;
    this.stats.packetsSent++;
    this.stats.bytesSent += header.length + rtp.payload.length;
    sending.then(this.#sent, this.#sent);
    return true;
  }

  /** RTCP sender reports for the tracks that sent (lip sync, round-trip time). */
  sendReports(): void {
    if (this.#endReason !== null) return;
    const now = wallMs();
    for (const track of [this.#tracks.video, this.#tracks.audio]) {
      if (!track || !track.rewriter.started) continue;
      const transport = track.transceiver.sender.dtlsTransport;
      if (transport?.state !== 'connected') continue;
      const sr = new RtcpSrPacket({
        ssrc: track.ssrc,
        senderInfo: new RtcpSenderInfo({
          ntpTimestamp: ntpTime(),
          rtpTimestamp: track.rewriter.rtpTimeAt(now),
          packetCount: track.packets >>> 0,
          octetCount: track.octets >>> 0,
        }),
      });
      transport.sendRtcp([sr]).catch(() => undefined);
    }
  }

  // PATCH

  onEnd(listener: (reason: ViewerEndReason) => void): () => void {
    if (this.ended) return () => undefined;
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  close(reason: ViewerEndReason = 'shutdown'): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#endReason = reason;
    for (const d of this.#disposers.splice(0)) d();
    const listeners = [...this.#endListeners];
    this.#endListeners.clear();
    for (const l of listeners) {
      try {
        l(reason);
      } catch (e) {
        this.#log.error({ err: e }, 'an end listener threw');
      }
    }
    this.#log.debug({ reason, ...this.stats }, 'viewer ended');
    this.#closing = this.#pc.close().catch((e: unknown) => {
      this.#log.warn({ err: e }, 'closing the peer connection failed');
    });
    return this.#closing;
  }
}

import { randomBytes, randomInt } from 'node:crypto';
import {
  MediaStreamTrack,
  ntpTime,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtpHeader,
  RTP_EXTENSION_URI,
  serializeSdesMid,
  useFIR,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useSdesMid,
  useVP8,
  useVP9,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { VideoCodec } from '../../core/media.js';
import type { IceFragment } from '../sdp/ice-fragment.js';
import { unprocessable } from '../errors.js';
import { answerOffer, type PeerNetworkOptions } from '../whip/peer.js';
import type { NegotiatedViewerOffer, ViewerTrackChoice } from './offer.js';
import { TrackRewriter } from './rewriter.js';

export type ViewerEndReason = 'deleted' | 'stream-ended' | 'ice-failed' | 'peer-closed' | 'shutdown';

export interface ViewerStats {
  packetsSent: number;
  /** Dropped because the viewer's send queue was full (a slow or broken viewer). */
  packetsDropped: number;
  /** Video dropped while waiting for a key frame (join, takeover). */
  packetsBeforeKeyframe: number;
  retransmitted: number;
  nacksReceived: number;
  plisReceived: number;
  firsReceived: number;
}

export interface WhepViewerOptions {
  streamId: string;
  offer: NegotiatedViewerOffer;
  /** The published video codec (the viewer's video m-line carries that). */
  videoCodec: VideoCodec | null;
  network: PeerNetworkOptions;
  /** Packets handed to the socket and not yet sent, per viewer; beyond: dropped and counted. */
  maxQueuedPackets: number;
  /** A viewer asked for a key frame (PLI/FIR), or needs one to start. */
  onKeyframeNeeded: () => void;
  /** The original packet behind a NACKed one, from the stream's retransmission buffer. */
  retransmit: (kind: 'video' | 'audio', originalSeq: number) => RtpPacket | undefined;
  log: Logger;
}

const wallMs = () => performance.timeOrigin + performance.now();
const newEtag = () => `"${randomBytes(9).toString('base64url')}"`;

/** One send track of a viewer: its SSRC, payload type and rewriter; video waits for a key frame. */
class ViewerTrack {
  readonly kind: 'video' | 'audio';
  readonly payloadType: number;
  readonly ssrc: number;
  readonly rewriter: TrackRewriter;
  readonly transceiver: RTCRtpTransceiver;
  midExtension: { id: number; payload: Buffer } | null = null;
  waitingForKeyframe: boolean;
  packets = 0;
  octets = 0;

  constructor(choice: ViewerTrackChoice & { payloadType: number }, t: RTCRtpTransceiver) {
    this.kind = choice.kind;
    this.payloadType = choice.payloadType;
    this.transceiver = t;
    this.ssrc = t.sender.ssrc;
    this.rewriter = new TrackRewriter(choice.clockRate, randomInt(0, 0x8000), randomInt(0, 2 ** 31));
    this.waitingForKeyframe = choice.kind === 'video';
  }
}

function viewerPeer(network: PeerNetworkOptions, videoCodec: VideoCodec | null): RTCPeerConnection {
  const feedback = [useNACK(), usePLI(), useFIR()];
  const video = {
    h264: () => [useH264({ rtcpFeedback: feedback })],
    vp8: () => [useVP8({ rtcpFeedback: feedback })],
    vp9: () => [useVP9({ rtcpFeedback: feedback })],
  };
  return new RTCPeerConnection({
    iceServers: network.iceServers.filter((u) => /^stuns?:/i.test(u)).map((urls) => ({ urls })),
    bundlePolicy: 'max-bundle',
    iceAdditionalHostAddresses: network.additionalHostAddresses ?? ['127.0.0.1'],
    iceUseIpv4: true,
    iceUseIpv6: network.useIpv6 ?? true,
    ...(network.portRange ? { icePortRange: network.portRange } : {}),
    codecs: {
      // A stream without video still answers the viewer's video m-line (it stays silent).
      video: videoCodec ? video[videoCodec]() : [...video.h264(), ...video.vp8(), ...video.vp9()],
      audio: [useOPUS()],
    },
    headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
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
  etag = newEtag();
  readonly stats: ViewerStats = {
    packetsSent: 0,
    packetsDropped: 0,
    packetsBeforeKeyframe: 0,
    retransmitted: 0,
    nacksReceived: 0,
    plisReceived: 0,
    firsReceived: 0,
  };
  readonly #opts: WhepViewerOptions;
  readonly #pc: RTCPeerConnection;
  readonly #log: Logger;
  readonly #tracks: { video: ViewerTrack | null; audio: ViewerTrack | null } = { video: null, audio: null };
  readonly #endListeners = new Set<(reason: ViewerEndReason) => void>();
  readonly #disposers: (() => void)[] = [];
  #queued = 0;
  #endReason: ViewerEndReason | null = null;
  #closing: Promise<void> | null = null;

  private constructor(opts: WhepViewerOptions) {
    this.streamId = opts.streamId;
    this.#opts = opts;
    this.#pc = viewerPeer(opts.network, opts.videoCodec);
    this.#log = opts.log.child({ streamId: opts.streamId, viewerId: this.sessionId });
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
      v.answer = await answerOffer(v.#pc, offer.sdp, opts.network);
      for (const c of kinds) {
        const t = transceivers.get(c.kind)!;
        if (c.payloadType === null) continue;
        const track = new ViewerTrack({ ...c, payloadType: c.payloadType }, t);
        const ext = t.headerExtensions.find((e) => e.uri === RTP_EXTENSION_URI.sdesMid);
        if (ext && t.mid) track.midExtension = { id: ext.id, payload: serializeSdesMid(t.mid) };
        v.#tracks[c.kind] = track;
        v.#wireFeedback(track);
      }
      const state = v.#pc.connectionStateChange.subscribe((s) => {
        if (s === 'connected') opts.onKeyframeNeeded();
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
      if (p.type !== RtcpPayloadSpecificFeedback.type) return;
      const count = (p as RtcpPayloadSpecificFeedback).feedback.count;
      if (count === 1) this.stats.plisReceived++;
      else if (count === 4) this.stats.firsReceived++;
      else return;
      this.#opts.onKeyframeNeeded();
    });
    this.#disposers.push(nack.unSubscribe, rtcp.unSubscribe);
  }

  get ended(): boolean {
    return this.#endReason !== null;
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

  /** The publisher changed (takeover): video waits for a key frame of the new one. */
  sourceChanged(): void {
    const v = this.#tracks.video;
    if (v) v.waitingForKeyframe = true;
    this.#tracks.video?.rewriter.rebase();
    this.#tracks.audio?.rewriter.rebase();
  }

  /**
   * Sends one packet of the publisher (`source` names its session and SSRC). `keyStart`:
   * the packet starts a key frame. Never blocks; returns whether it was handed on.
   */
  forward(
    kind: 'video' | 'audio',
    source: string,
    rtp: RtpPacket,
    keyStart: boolean,
    nowMs: number,
  ): boolean {
    const track = this.#tracks[kind];
    if (!track || this.#endReason !== null) return false;
    const transport = track.transceiver.sender.dtlsTransport;
    if (transport?.state !== 'connected') return false;
    if (track.waitingForKeyframe) {
      if (!keyStart) {
        this.stats.packetsBeforeKeyframe++;
        return false;
      }
      track.waitingForKeyframe = false;
    }
    const { seq, ts } = track.rewriter.map(source, rtp.header.sequenceNumber, rtp.header.timestamp, nowMs);
    return this.#send(track, rtp, seq, ts);
  }

  #resend(track: ViewerTrack, viewerSeq: number): void {
    const original = this.#opts.retransmit(track.kind, track.rewriter.original(viewerSeq));
    if (!original) return;
    const ts = track.rewriter.timestamp(original.header.timestamp);
    if (this.#send(track, original, viewerSeq, ts)) this.stats.retransmitted++;
  }

  #send(track: ViewerTrack, rtp: RtpPacket, seq: number, ts: number): boolean {
    if (this.#queued >= this.#opts.maxQueuedPackets) {
      this.stats.packetsDropped++;
      return false;
    }
    const header = new RtpHeader({
      payloadType: track.payloadType,
      sequenceNumber: seq,
      timestamp: ts,
      ssrc: track.ssrc,
      marker: rtp.header.marker,
      extensions: track.midExtension ? [track.midExtension] : [],
    });
    this.#queued++;
    track.packets++;
    track.octets += rtp.payload.length;
    this.stats.packetsSent++;
    track.transceiver.sender.dtlsTransport
      .sendRtp(rtp.payload, header)
      .catch(() => undefined)
      .finally(() => this.#queued--);
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

  isIceRestart(frag: IceFragment): boolean {
    return (
      (frag.ufrag !== undefined && frag.ufrag !== this.#opts.offer.iceUfrag) ||
      (frag.pwd !== undefined && frag.pwd !== this.#opts.offer.icePwd)
    );
  }

  async addCandidates(frag: IceFragment): Promise<void> {
    if (this.ended) throw new AppError('not_found', 'the session has ended');
    const { offer } = this.#opts;
    const mids = new Set([offer.video?.mid, offer.audio?.mid]);
    try {
      for (const c of frag.candidates) {
        const sdpMid = c.mid !== null && mids.has(c.mid) ? c.mid : offer.bundleMid;
        await this.#pc.addIceCandidate({ candidate: c.candidate, sdpMid });
      }
      if (frag.endOfCandidates) await this.#pc.addIceCandidate({ candidate: '', sdpMid: offer.bundleMid });
    } catch (e) {
      throw new AppError('bad_request', `a candidate was refused: ${errorMessage(e)}`, { cause: e });
    }
  }

  restartIce(_frag: IceFragment): Promise<string> {
    return Promise.reject(unprocessable('WHEP sessions do not take an ICE restart yet; start a new session'));
  }

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

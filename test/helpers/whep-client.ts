import { applyIceRestart, iceRestartFragment } from './ice-restart.js';
import { depacketizer } from '../../src/ingest/rtp/depacketize.js';
import { useAV1, useH265 } from '../../src/ingest/whip/peer.js';
import { rembPacket } from '../../src/ingest/whep/bandwidth-estimate.js';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  useFIR,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useAbsSendTime,
  useSdesMid,
  useVP8,
  type RtpPacket,
} from 'werift';

export interface WhepClientOptions {
  /** The WHEP endpoint, e.g. http://127.0.0.1:1234/whep/cam1. */
  url: string;
  token?: string;
  /** More headers for the POST (e.g. X-Forwarded-For). */
  headers?: Record<string, string>;
  /** Called for every RTP packet received (before anything is recorded). */
  onRtp?: (kind: 'video' | 'audio', rtp: RtpPacket) => void;
  /**
   * Default true: keep every packet's header in `video`/`audio` and assemble `frames`.
   * False: record nothing (cheap viewers for load tests; use onRtp to count).
   */
  record?: boolean;
  /** Default `h264` (three H.264 payload types, as browsers offer them); else that codec only. */
  videoCodec?: 'h264' | 'vp8' | 'h265' | 'av1';
  /** `?layer=` of the POST (a simulcast layer's rid). */
  layer?: string;
  /** `?mode=` of the POST. */
  mode?: 'passthrough' | 'rung';
  /** `?rendition=` of the POST (a rung to stay on). */
  rendition?: string;
}

/** One assembled video frame (H.264 and H.265 as Annex-B, AV1 as OBUs, VP8 as sent) and when it completed. */
export interface ReceivedFrame {
  data: Buffer;
  rtpTimestamp: number;
  atMs: number;
}

/**
 * A WHEP viewer for tests: a werift peer with recvonly H.264 + Opus transceivers that
 * POSTs its offer and records what it receives (sequence numbers, and video frames
 * assembled with werift's depacketizer). close() is idempotent.
 */
export class WhepTestClient {
  readonly pc: RTCPeerConnection;
  location = '';
  answer = '';
  /** ETag of the ICE session (from the POST, then from each ICE restart). */
  etag = '';
  postedAtMs = 0;
  /** `absSendTime`: the packet's abs-send-time (6.18 fixed-point seconds, 24 bits), when it has one. */
  readonly video: { seq: number; timestamp: number; ssrc: number; pt: number; absSendTime?: number }[] = [];
  readonly audio: { seq: number; timestamp: number; ssrc: number; pt: number }[] = [];
  readonly frames: ReceivedFrame[] = [];
  readonly #opts: WhepClientOptions;
  readonly #depacketize: ReturnType<typeof depacketizer>;
  #pending: RtpPacket[] = [];
  #closing: Promise<void> | null = null;

  private constructor(opts: WhepClientOptions) {
    this.#opts = opts;
    this.#depacketize = depacketizer(opts.videoCodec ?? 'h264');
    const fb = [useNACK(), usePLI(), useFIR()];
    this.pc = new RTCPeerConnection({
      iceServers: [],
      bundlePolicy: 'max-bundle',
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceUseIpv6: false,
      codecs: {
        video:
          opts.videoCodec === 'vp8'
            ? [useVP8({ rtcpFeedback: fb })]
            : opts.videoCodec === 'h265'
              ? [useH265(fb)]
              : opts.videoCodec === 'av1'
                ? [useAV1(fb)]
                : [
                    // As browsers offer it: several H.264 types, the High one not first.
                    useH264({
                      rtcpFeedback: fb,
                      parameters: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
                    }),
                    useH264({
                      rtcpFeedback: fb,
                      parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
                    }),
                    useH264({
                      rtcpFeedback: fb,
                      parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f',
                    }),
                  ],
        audio: [useOPUS()],
      },
      // As Chromium offers them: the mid, and abs-send-time on video.
      headerExtensions: { video: [useSdesMid(), useAbsSendTime()], audio: [useSdesMid()] },
    });
  }

  /** POSTs the offer; resolves with the response (201 or not). Call close() either way. */
  static async create(opts: WhepClientOptions): Promise<WhepTestClient> {
    return new WhepTestClient(opts);
  }

  /** Builds the offer with its candidates (as a browser that gathered before POSTing). */
  async offer(): Promise<string> {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    for (const t of this.pc.iceTransports) t.connection.stunServer = undefined;
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription?.sdp ?? '';
  }

  /**
   * POSTs `offer` as is. A POST on a pooled keep-alive connection that the server closed
   * as idle meanwhile fails with ECONNRESET before the server read it; it is sent once
   * more, as browsers do for a request that failed that way on a reused connection.
   */
  async post(offer: string, headers: Record<string, string> = {}): Promise<Response> {
    try {
      return await this.#post(offer, headers);
    } catch (e) {
      const code = (e as { cause?: { code?: string } }).cause?.code;
      if (code !== 'ECONNRESET') throw e;
      return this.#post(offer, headers);
    }
  }

  #post(offer: string, headers: Record<string, string>): Promise<Response> {
    const url = new URL(this.#opts.url);
    if (this.#opts.layer !== undefined) url.searchParams.set('layer', this.#opts.layer);
    if (this.#opts.mode !== undefined) url.searchParams.set('mode', this.#opts.mode);
    if (this.#opts.rendition !== undefined) url.searchParams.set('rendition', this.#opts.rendition);
    return fetch(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/sdp',
        ...(this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {}),
        ...this.#opts.headers,
        ...headers,
      },
      body: offer,
    });
  }

  /** Offer, POST (must be 201), apply the answer and record what arrives. */
  async play(): Promise<void> {
    const offer = await this.offer();
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => this.#onRtp(track, rtp));
    });
    this.postedAtMs = Date.now();
    const res = await this.post(offer);
    const body = await res.text();
    if (res.status !== 201) throw new Error(`POST ${this.#opts.url}: ${res.status} ${body}`);
    // res.url: where the POST ended up, after a redirect (passthrough asked of another process).
    this.location = new URL(res.headers.get('location') ?? '', res.url || this.#opts.url).toString();
    this.etag = res.headers.get('etag') ?? '';
    this.answer = body;
    const ext =
      /a=extmap:(\d+)(?:\/\w+)? http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/abs-send-time/.exec(body);
    this.#absSendTimeId = ext ? Number(ext[1]) : null;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: body });
  }

  #absSendTimeId: number | null = null;

  #onRtp(track: MediaStreamTrack, rtp: RtpPacket): void {
    this.#opts.onRtp?.(track.kind === 'audio' ? 'audio' : 'video', rtp);
    if (this.#opts.record === false) return;
    const h = rtp.header;
    const rec = { seq: h.sequenceNumber, timestamp: h.timestamp, ssrc: h.ssrc, pt: h.payloadType };
    if (track.kind === 'audio') {
      this.audio.push(rec);
      return;
    }
    const abs =
      this.#absSendTimeId === null ? undefined : h.extensions.find((e) => e.id === this.#absSendTimeId);
    this.video.push(
      abs && abs.payload.length === 3 ? { ...rec, absSendTime: abs.payload.readUIntBE(0, 3) } : rec,
    );
    if (this.#pending.length > 0 && this.#pending[0]!.header.timestamp !== h.timestamp) this.#pending = [];
    this.#pending.push(rtp);
    if (h.marker) {
      const packets = this.#pending.sort((a, b) => a.header.sequenceNumber - b.header.sequenceNumber);
      this.#pending = [];
      try {
        const data = this.#depacketize(
          packets.map((rtp) => ({ rtp, header: rtp.header, payload: rtp.payload, arrivalMs: 0 })),
        );
        if (data.length > 0) this.frames.push({ data, rtpTimestamp: h.timestamp, atMs: Date.now() });
      } catch {
        // a frame with a lost packet: skipped
      }
    }
  }

  /**
   * Sends a REMB saying the viewer can take `bps` (as a browser's receive-side estimate
   * would), addressed to the server's video SSRC.
   */
  async sendRemb(bps: number): Promise<void> {
    const t = this.pc.getTransceivers().find((x) => x.kind === 'video');
    const ssrc = this.video.at(-1)?.ssrc;
    if (!t || ssrc === undefined) return;
    await t.receiver.dtlsTransport
      .sendRtcp([rembPacket(bps, t.receiver.rtcpSsrc, [ssrc])])
      .catch(() => undefined);
  }

  /** The client's side of an ICE restart: new credentials, as a fragment of the bundle's m-line. */
  iceRestartFragment(): Promise<string> {
    return iceRestartFragment(this.pc);
  }

  patch(fragment: string, headers: Record<string, string>): Promise<Response> {
    return fetch(this.location, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/trickle-ice-sdpfrag',
        ...(this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {}),
        ...headers,
      },
      body: fragment,
    });
  }

  /** Applies the server's ICE restart fragment to the answer held and runs the new checks. */
  applyIceRestart(fragment: string): Promise<void> {
    return applyIceRestart(this.pc, fragment);
  }

  delete(): Promise<Response> {
    return fetch(this.location, {
      method: 'DELETE',
      headers: this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {},
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.pc.close().catch(() => undefined);
    return this.#closing;
  }
}

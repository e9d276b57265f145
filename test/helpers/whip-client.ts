import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  useH264,
  useOPUS,
  useSdesMid,
  useVP8,
  useVP9,
  type RTCRtpCodecParameters,
} from 'werift';
import { spawnOwned, terminate } from '../../src/core/child.js';
import { TestSenderReports } from './sender-reports.js';

export type TestVideoCodec = 'h264' | 'vp8' | 'vp9';

export interface WhipClientOptions {
  /** The WHIP endpoint, e.g. http://127.0.0.1:1234/whip/cam1 (may carry ?preset=). */
  url: string;
  token?: string;
  /** More headers for the POST (e.g. X-Forwarded-For, Origin). */
  headers?: Record<string, string>;
  /** POST from this local address (another 127.x: another client to the server's per-client caps). */
  localAddress?: string;
  /** Default `h264` (offered as OBS does: profile-level-id 42e01f, then encoded as High). */
  video?: TestVideoCodec | false;
  /** Default true: Opus. */
  audio?: boolean;
  width?: number;
  height?: number;
  fps?: number;
  /** Key frame interval in frames. Default 30. */
  gop?: number;
  /** libx264 speed preset for `h264`. Default `veryfast`; a benchmark sharing the CPU may want `ultrafast`. */
  x264Preset?: 'ultrafast' | 'superfast' | 'veryfast';
  /**
   * H.264 only: a constant video bit rate in kb/s (x264 CBR with filler, as a hardware
   * encoder sends). Default: unset, x264's own rate control (quality-based).
   */
  videoBitrateKbps?: number;
  /** ffmpeg stops after this long; default: runs until close(). */
  seconds?: number;
  /** Drop this percentage of every packet the client sends (NACK tests). */
  outboundLossPercent?: number;
  /** Send the offer without candidates, as OBS does (the server learns the address from checks). Default true. */
  stripCandidates?: boolean;
  /** Don't start ffmpeg (signalling-only tests). */
  noMedia?: boolean;
  ffmpegPath?: string;
  /**
   * A lavfi video source (for `-f lavfi -i`) instead of testsrc2 at width x height and fps,
   * e.g. bench/lib/frame-number.ts's frameNumberSource(). Its frame rate should be `fps`.
   */
  videoSource?: string;
  /** A lavfi audio source (for `-f lavfi -i`) instead of a 440 Hz sine at 48 kHz. */
  audioSource?: string;
  /**
   * RTCP sender reports as Chromium and OBS send them (see TestSenderReports), in place of
   * werift's (which are wrong). Default true; false sends none at all.
   */
  senderReports?: boolean;
  /** Each track's first sender report comes this long after its first packet. Default 250. */
  firstSenderReportMs?: number;
  /** Audio RTP is handed to werift this much later than ffmpeg sends it (a longer audio path). Default 0. */
  audioDelayMs?: number;
  /**
   * A pre-encoded file (H.264 video in Annex B, Opus audio: MPEG-TS) sent in a loop at its own
   * rate, streams copied (no encode: a benchmark keeps its CPU for what it measures).
   * Replaces the lavfi sources; `video` must be `h264`.
   */
  inputFile?: string;
  /**
   * Called for every RTP packet handed to werift's sender track, with its RTP timestamp and
   * the wall clock (epoch ms, fractional) when it was: with ffmpeg's -re pacing, frame n
   * of the source goes out with the first packet of timestamp firstTs + n * 90000 / fps.
   */
  onRtp?: (p: SentRtp) => void;
}

/** One RTP packet as the client forwarded it (see WhipClientOptions.onRtp). */
export interface SentRtp {
  kind: 'video' | 'audio';
  timestamp: number;
  sequenceNumber: number;
  marker: boolean;
  /** performance.timeOrigin + performance.now() when it was handed on. */
  wallMs: number;
}

const VIDEO_CODECS: Record<TestVideoCodec, () => RTCRtpCodecParameters> = {
  h264: () => useH264(),
  vp8: () => useVP8(),
  vp9: () => useVP9(),
};

function videoArgs(codec: TestVideoCodec, gop: number, kbps?: number, x264Preset = 'veryfast'): string[] {
  switch (codec) {
    case 'h264':
      return [
        ...['-c:v', 'libx264', '-profile:v', 'high', '-preset', x264Preset, '-tune', 'zerolatency'],
        ...(kbps
          ? [
              ...['-b:v', `${kbps}k`, '-minrate', `${kbps}k`, '-maxrate', `${kbps}k`],
              ...['-bufsize', `${Math.round(kbps / 2)}k`, '-x264-params', 'nal-hrd=cbr'],
            ]
          : []),
        ...['-pix_fmt', 'yuv420p', '-g', String(gop), '-bsf:v', 'h264_mp4toannexb'],
      ];
    case 'vp8':
      return ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '600k', '-g', String(gop)];
    case 'vp9':
      return [
        ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1'],
        ...['-b:v', '600k', '-g', String(gop), '-strict', 'experimental'], // ffmpeg's VP9 RTP packetizer
      ];
  }
}

/**
 * libopus's encoder delay at 48 kHz (its pre-skip): ffmpeg gives the first packet the
 * time -312, and decoded whole (the relay's OpusHead skips nothing) the source's time 0
 * is its 313th sample.
 */
const OPUS_ENCODER_DELAY = 312;

function bindUdp(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** RTCP packet types 200 to 204 sit where an RTP header has marker + payload type. */
function isRtcp(msg: Buffer): boolean {
  const pt = msg[1] ?? 0;
  return pt >= 200 && pt <= 204;
}

/** The POST was answered, but not with 201: the status, its Retry-After and body. */
export class WhipPostError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | null,
    readonly body: string,
    url: string,
  ) {
    super(`POST ${url}: ${status} ${body}`);
    this.name = 'WhipPostError';
  }
}

interface PostAnswer {
  status: number;
  header: (name: string) => string | null;
  body: string;
}

/** An SDP POST over node:http, from `localAddress` (fetch cannot choose its source address). */
function postFrom(
  url: string,
  headers: Record<string, string>,
  body: string,
  localAddress: string,
): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const header = (n: string) => {
          const v = res.headers[n.toLowerCase()];
          return v === undefined ? null : String(v);
        };
        resolve({ status: res.statusCode ?? 0, header, body: Buffer.concat(chunks).toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  localAddress?: string,
): Promise<PostAnswer> {
  if (localAddress) return postFrom(url, headers, body, localAddress);
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, header: (n) => res.headers.get(n), body: await res.text() };
}

/**
 * A WHIP publisher for tests: a werift peer that POSTs its offer and sends real media
 * that ffmpeg encodes from lavfi test sources and writes as RTP to UDP ports bound here;
 * each packet is handed to werift's sender track (which sets SSRC, payload type and
 * sequence). RTCP sender reports are ours, made as Chromium makes them (TestSenderReports).
 * Owns the peer, the sockets and the ffmpeg child; close() is idempotent.
 */
export class WhipTestClient {
  readonly pc: RTCPeerConnection;
  /** Session URL (absolute) from the Location header. */
  location = '';
  etag = '';
  answer = '';
  offer = '';
  /** Milliseconds from sending the POST to having its 201. */
  postMs = 0;
  /** Wall clock (epoch ms, fractional) when the POST was sent. */
  postedAtMs = 0;
  ffmpegStderr = '';
  readonly #opts: WhipClientOptions;
  readonly #sockets: dgram.Socket[] = [];
  #ffmpeg: ChildProcess | null = null;
  #closing: Promise<void> | null = null;
  readonly #reports: TestSenderReports;
  readonly videoTrack: MediaStreamTrack | null;
  readonly audioTrack: MediaStreamTrack | null;

  private constructor(opts: WhipClientOptions) {
    this.#opts = opts;
    const video = opts.video ?? 'h264';
    const loss = opts.outboundLossPercent ?? 0;
    this.pc = new RTCPeerConnection({
      iceServers: [],
      bundlePolicy: 'max-bundle',
      iceAdditionalHostAddresses: ['127.0.0.1'],
      iceUseIpv6: false,
      codecs: { video: video ? [VIDEO_CODECS[video]()] : [], audio: [useOPUS()] },
      headerExtensions: { video: [useSdesMid()], audio: [useSdesMid()] },
      // werift drops a packet when `value / 100 < Math.random()`: 100 - p drops p percent.
      ...(loss > 0 ? { debug: { outboundPacketLoss: 100 - loss } } : {}),
    });
    this.videoTrack = video ? new MediaStreamTrack({ kind: 'video' }) : null;
    this.audioTrack = (opts.audio ?? true) ? new MediaStreamTrack({ kind: 'audio' }) : null;
    this.#reports = new TestSenderReports(opts.senderReports ?? true, opts.firstSenderReportMs);
  }

  /** POSTs the offer; throws (after closing) unless the answer is 201. */
  static async publish(opts: WhipClientOptions): Promise<WhipTestClient> {
    const c = new WhipTestClient(opts);
    try {
      await c.#signal();
      await c.#connected(15_000);
      if (!opts.noMedia) await c.#startMedia();
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  async #signal(): Promise<void> {
    if (this.videoTrack) {
      const t = this.pc.addTransceiver(this.videoTrack, { direction: 'sendonly' });
      this.#reports.add(this.videoTrack, t.sender, 90_000);
    }
    if (this.audioTrack) {
      const t = this.pc.addTransceiver(this.audioTrack, { direction: 'sendonly' });
      this.#reports.add(this.audioTrack, t.sender, 48_000, OPUS_ENCODER_DELAY);
    }
    // werift queries stun.l.google.com when no STUN server is configured.
    for (const t of this.pc.iceTransports) t.connection.stunServer = undefined;
    await this.pc.setLocalDescription(await this.pc.createOffer());
    let offer = this.pc.localDescription?.sdp ?? '';
    if (this.#opts.stripCandidates ?? true) {
      offer = offer
        .split('\r\n')
        .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
        .join('\r\n');
    }
    this.offer = offer;
    const t0 = performance.now();
    this.postedAtMs = performance.timeOrigin + t0;
    const headers = {
      'Content-Type': 'application/sdp',
      ...(this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {}),
      ...this.#opts.headers,
    };
    const res = await post(this.#opts.url, headers, offer, this.#opts.localAddress);
    const body = res.body;
    this.postMs = performance.now() - t0;
    if (res.status !== 201)
      throw new WhipPostError(res.status, res.header('retry-after'), body, this.#opts.url);
    this.location = new URL(res.header('location') ?? '', this.#opts.url).toString();
    this.etag = res.header('etag') ?? '';
    this.answer = body;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: body });
  }

  #connected(timeoutMs: number): Promise<void> {
    if (this.pc.connectionState === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.unSubscribe();
        reject(new Error(`not connected after ${timeoutMs} ms (${this.pc.connectionState})`));
      }, timeoutMs);
      const sub = this.pc.connectionStateChange.subscribe((s) => {
        if (s === 'connected') {
          clearTimeout(timer);
          sub.unSubscribe();
          resolve();
        } else if (s === 'failed' || s === 'closed') {
          clearTimeout(timer);
          sub.unSubscribe();
          reject(new Error(`connection ${s}`));
        }
      });
    });
  }

  async #forward(track: MediaStreamTrack, kind: 'video' | 'audio'): Promise<number> {
    const socket = await bindUdp();
    this.#sockets.push(socket);
    const onRtp = this.#opts.onRtp;
    const send = (msg: Buffer) => {
      if (this.#closing) return;
      track.writeRtp(msg);
      onRtp?.({
        kind,
        timestamp: msg.readUInt32BE(4),
        sequenceNumber: msg.readUInt16BE(2),
        marker: ((msg[1] ?? 0) & 0x80) !== 0,
        wallMs: performance.timeOrigin + performance.now(),
      });
    };
    const delayMs = kind === 'audio' ? (this.#opts.audioDelayMs ?? 0) : 0;
    socket.on('message', (msg) => {
      if (msg.length < 12 || isRtcp(msg)) return;
      if (delayMs > 0) setTimeout(() => send(msg), delayMs).unref();
      else send(msg);
    });
    return socket.address().port;
  }

  async #startMedia(): Promise<void> {
    const o = this.#opts;
    const size = `${o.width ?? 640}x${o.height ?? 360}`;
    const fps = o.fps ?? 30;
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re'];
    if (o.inputFile) {
      args.push('-stream_loop', '-1', '-i', o.inputFile);
    } else {
      args.push('-f', 'lavfi', '-i', o.videoSource ?? `testsrc2=size=${size}:rate=${fps}`);
      args.push('-f', 'lavfi', '-i', o.audioSource ?? 'sine=frequency=440:sample_rate=48000');
    }
    if (o.seconds !== undefined) args.push('-t', String(o.seconds));
    const rtp = (port: number) => `rtp://127.0.0.1:${port}?pkt_size=1200&rtcpport=${port}`;
    const videoCodec = o.video ?? 'h264';
    if (this.videoTrack && videoCodec) {
      const port = await this.#forward(this.videoTrack, 'video');
      const encode = o.inputFile
        ? ['-c:v', 'copy']
        : videoArgs(videoCodec, o.gop ?? 30, o.videoBitrateKbps, o.x264Preset);
      args.push('-map', '0:v', ...encode, '-f', 'rtp', rtp(port));
    }
    if (this.audioTrack) {
      const port = await this.#forward(this.audioTrack, 'audio');
      if (o.inputFile) args.push('-map', '0:a', '-c:a', 'copy');
      else args.push('-map', '1:a', '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2');
      args.push('-f', 'rtp', rtp(port));
    }
    const child = spawnOwned(o.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#ffmpeg = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.ffmpegStderr = (this.ffmpegStderr + d.toString()).slice(-4000);
    });
  }

  /** Resolves when ffmpeg has exited (at once when it never ran). */
  mediaEnded(): Promise<void> {
    const child = this.#ffmpeg;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Stops sending media but keeps the connection (media-timeout tests). */
  async stopMedia(): Promise<void> {
    if (this.#ffmpeg) await terminate(this.#ffmpeg, 2000);
  }

  async delete(): Promise<Response> {
    return fetch(this.location, {
      method: 'DELETE',
      headers: this.#opts.token ? { Authorization: `Bearer ${this.#opts.token}` } : {},
    });
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = (async () => {
        this.#reports.close();
        const results = await Promise.allSettled([
          this.#ffmpeg ? terminate(this.#ffmpeg, 2000) : Promise.resolve(),
          ...this.#sockets.map((s) => new Promise<void>((r) => s.close(() => r()))),
        ]);
        await this.pc.close().catch(() => undefined);
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw (failed as PromiseRejectedResult).reason;
      })();
    }
    return this.#closing;
  }
}

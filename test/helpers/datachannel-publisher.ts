import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import {
  cleanup,
  AV1RtpPacketizer,
  Audio,
  H265RtpPacketizer,
  PeerConnection,
  RtcpNackResponder,
  RtcpSrReporter,
  RtpPacketizationConfig,
  Video,
  type RtpPacketizer,
  type Track,
} from 'node-datachannel';
import { spawnOwned, terminate } from '../../src/core/child.js';
import { AV1_OBU, readObu } from '../../src/core/codecs/av1-obu.js';

/** One simulcast layer: its rid and the size it is scaled to. */
export interface SimulcastLayer {
  rid: string;
  width: number;
  height: number;
}

export interface DataChannelPublisherOptions {
  /** The WHIP endpoint (may carry ?preset=). */
  url: string;
  /**
   * `h265`: libdatachannel's H265RtpPacketizer; `av1`: its AV1RtpPacketizer (temporal
   * units); `h264`: simulcast, ffmpeg's own RTP (packetization-mode 1) per layer, sent raw.
   */
  codec: 'h265' | 'av1' | 'h264';
  /**
   * With `h264` (required there), the layers, top first, as OBS's simulcast offers them:
   * one video m-line with an SSRC and an `a=rid:<rid> send` per layer, `a=simulcast:send`
   * and the rtp-stream-id header extension. One ffmpeg encodes them all from the same
   * frames (libx264 constrained baseline, the same key frame interval), each to its own
   * RTP output with its own SSRC; every packet gets the rid header extension here.
   */
  simulcast?: readonly SimulcastLayer[];
  seconds: number;
  /** The source's size (the top layer's with `simulcast`). */
  width?: number;
  height?: number;
  fps?: number;
  /** Key frame interval in frames. Default 30. */
  gop?: number;
  ffmpegPath?: string;
}

const AUDIO_PT = 111;
const VIDEO_PT = 96;
/** OBS's MAX_VIDEO_FRAGMENT_SIZE. */
const MAX_FRAGMENT = 1200;
/** The a=extmap id of the rtp-stream-id (rid) header extension in the simulcast offer. */
const RID_EXT_ID = 4;
const RID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';

/** Two H.264 layers as OBS's simulcast sends them (100 % and 50 %) from a 640x360 source. */
export const OBS_TWO_LAYERS: readonly SimulcastLayer[] = [
  { rid: 'h', width: 640, height: 360 },
  { rid: 'l', width: 320, height: 180 },
];

/**
 * A WHIP publisher shaped like OBS's WHIP output (plugins/obs-webrtc/whip-output.cpp):
 * libdatachannel (node-datachannel) with audio mid 0 (Opus pt 111) and video mid 1 (pt
 * 96, H.265 or AV1), one a=ssrc per track, the offer POSTed without candidates; video
 * frames go through libdatachannel's own packetizer (H265RtpPacketizer with start
 * sequences, AV1RtpPacketizer by temporal unit) with its SR reporter and NACK
 * responder, as OBS chains them. ffmpeg encodes testsrc2 (libx265 with the parameter
 * sets repeated in band, as hardware encoders send them; or libaom realtime) to stdout,
 * and Opus as RTP with the track's SSRC, which is sent as it comes. libdatachannel binds
 * 127.0.0.1 only. With `simulcast` (H.264), OBS's simulcast offer (see
 * DataChannelPublisherOptions.simulcast) and no packetizer: ffmpeg's RTP of each layer
 * and its sender reports go out raw on the video track, the rid header extension added.
 * Owns the peer, the socket and ffmpeg; close() is idempotent.
 */
export class DataChannelPublisher {
  readonly pc: PeerConnection;
  offer = '';
  answer = '';
  location = '';
  /** Wall clock (epoch ms) when the POST was sent. */
  postedAtMs = 0;
  framesSent = 0;
  /** Simulcast: RTP packets and RTCP sender reports forwarded, by rid (and `audio`). */
  readonly forwarded: Record<string, { rtp: number; sr: number }> = {};
  /** RTP packets dropped as loseNext() asked. */
  lost = 0;
  #lose: { rid: string; left: number } | null = null;
  ffmpegStderr = '';
  readonly #o: DataChannelPublisherOptions;
  readonly #video: Track;
  readonly #audio: Track;
  readonly #config: RtpPacketizationConfig;
  readonly #audioSsrc: number;
  /** Simulcast: each layer's SSRC (base + 1 + index) to its rid. */
  readonly #rids = new Map<number, string>();
  #socket: dgram.Socket | null = null;
  #ffmpeg: ChildProcess | null = null;
  #closing: Promise<void> | null = null;

  private constructor(o: DataChannelPublisherOptions) {
    this.#o = o;
    this.pc = new PeerConnection('whip-publisher', { iceServers: [], bindAddress: '127.0.0.1' });
    const cname = 'whipcasttest0001';
    const msid = 'whipcasttestmsid';
    const base = 0x10000000 + Math.floor(Math.random() * 0x1000000);
    this.#audioSsrc = base;
    const audio = new Audio('0', 'SendOnly');
    audio.addOpusCodec(AUDIO_PT);
    audio.addSSRC(base, cname, msid, `${msid}-audio`);
    this.#audio = this.pc.addTrack(audio);
    const video = new Video('1', 'SendOnly');
    if (o.codec === 'h265') video.addH265Codec(VIDEO_PT);
    else if (o.codec === 'av1') video.addAV1Codec(VIDEO_PT);
    else video.addH264Codec(VIDEO_PT);
    const layers = o.codec === 'h264' ? (o.simulcast ?? []) : [];
    if (o.codec === 'h264' && layers.length === 0)
      throw new Error('h264 is sent as simulcast: give the layers');
    layers.forEach((l, i) => this.#rids.set(base + 1 + i, l.rid));
    for (const ssrc of layers.length ? this.#rids.keys() : [base + 1])
      video.addSSRC(ssrc, cname, msid, `${msid}-video`);
    if (layers.length) {
      // libdatachannel keeps these in the offer it generates (its Description::Media::addRid's lines).
      for (const l of layers) video.parseSdpLine(`a=rid:${l.rid} send`);
      video.parseSdpLine(`a=simulcast:send ${layers.map((l) => l.rid).join(';')}`);
      video.parseSdpLine(`a=extmap:${RID_EXT_ID} ${RID_EXTENSION}`);
    }
    this.#video = this.pc.addTrack(video);
    this.#config = new RtpPacketizationConfig(base + 1, cname, VIDEO_PT, 90000);
    if (layers.length) return; // ffmpeg's RTP goes out as it is: no packetizer
    const packetizer: RtpPacketizer =
      o.codec === 'h265'
        ? new H265RtpPacketizer('StartSequence', this.#config, MAX_FRAGMENT)
        : new AV1RtpPacketizer('TemporalUnit', this.#config, MAX_FRAGMENT);
    packetizer.addToChain(new RtcpSrReporter(this.#config));
    packetizer.addToChain(new RtcpNackResponder());
    this.#video.setMediaHandler(packetizer);
  }

  /** POSTs the offer (201 or it throws, after closing), waits for both tracks to open, starts media. */
  static async publish(o: DataChannelPublisherOptions): Promise<DataChannelPublisher> {
    const p = new DataChannelPublisher(o);
    try {
      await p.#signal();
      await p.#open(15_000);
      await p.#startMedia();
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  async #signal(): Promise<void> {
    const described = new Promise<string>((resolve) => this.pc.onLocalDescription((sdp) => resolve(sdp)));
    this.pc.setLocalDescription();
    // OBS posts the offer as libdatachannel first describes it: no candidates.
    this.offer = (await described)
      .split(/\r?\n/)
      .filter((l) => l !== '' && !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
      .join('\r\n')
      .concat('\r\n');
    this.postedAtMs = Date.now();
    const res = await fetch(this.#o.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: this.offer,
    });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`POST ${this.#o.url}: ${res.status} ${body}`);
    this.location = new URL(res.headers.get('location') ?? '', this.#o.url).toString();
    this.answer = body;
    this.pc.setRemoteDescription(body, 'answer');
  }

  #open(timeoutMs: number): Promise<void> {
    const opened = (t: Track) =>
      new Promise<void>((resolve) => {
        if (t.isOpen()) resolve();
        else t.onOpen(() => resolve());
      });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tracks not open after ${timeoutMs} ms`)), timeoutMs);
      Promise.all([opened(this.#audio), opened(this.#video)]).then(() => {
        clearTimeout(timer);
        resolve();
      }, reject);
    });
  }

  async #startMedia(): Promise<void> {
    const o = this.#o;
    const socket = dgram.createSocket('udp4');
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    // ffmpeg's Opus RTP, already with the track's SSRC and payload type: sent as it is;
    // simulcast layers' RTP with the rid added, and the sender reports.
    socket.on('message', (msg) => this.#forward(msg));
    const fps = o.fps ?? 30;
    const gop = String(o.gop ?? 30);
    const port = socket.address().port;
    // Simulcast: every output sends its RTCP sender reports to the same socket.
    const rtp = `rtp://127.0.0.1:${port}?pkt_size=1200${this.#rids.size ? `&rtcpport=${port}` : ''}`;
    const video = this.#rids.size
      ? this.#simulcastOutputs(gop, rtp)
      : o.codec === 'h265'
        ? [
            ...['-map', '0:v', '-c:v', 'libx265', '-preset', 'ultrafast', '-tune', 'zerolatency'],
            ...['-x265-params', `keyint=${gop}:min-keyint=${gop}:repeat-headers=1:aud=1:log-level=error`],
            ...['-pix_fmt', 'yuv420p', '-f', 'hevc', 'pipe:1'],
          ]
        : [
            ...['-map', '0:v', '-c:v', 'libaom-av1', '-usage', 'realtime', '-cpu-used', '10'],
            ...['-row-mt', '1', '-b:v', '600k', '-g', gop, '-pix_fmt', 'yuv420p', '-f', 'obu', 'pipe:1'],
          ];
    const source = `testsrc2=size=${o.width ?? 640}x${o.height ?? 360}:rate=${fps}:duration=${o.seconds}`;
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', source],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`],
      ...video,
      ...['-map', '1:a', '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2'],
      ...['-f', 'rtp', '-payload_type', String(AUDIO_PT), '-ssrc', String(this.#audioSsrc)],
      rtp,
    ];
    const child = spawnOwned(o.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#ffmpeg = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.ffmpegStderr = (this.ffmpegStderr + d.toString()).slice(-4000);
    });
    if (this.#rids.size) return;
    const split = o.codec === 'h265' ? new AnnexBAccessUnits() : new ObuTemporalUnits();
    const startTs = Math.floor(Math.random() * 2 ** 31);
    child.stdout?.on('data', (chunk: Buffer) => {
      for (const unit of split.push(chunk)) this.#sendFrame(unit, startTs, fps);
    });
  }

  /** ffmpeg outputs of the layers: split, scaled, each its own libx264 and RTP with its SSRC. */
  #simulcastOutputs(gop: string, rtp: string): string[] {
    const layers = this.#o.simulcast ?? [];
    const split = `[0:v]split=${layers.length}${layers.map((_, i) => `[s${i}]`).join('')}`;
    const scaled = layers.map((l, i) => `[s${i}]scale=${l.width}:${l.height}[v${i}]`);
    const args = ['-filter_complex', [split, ...scaled].join(';')];
    for (const [i, ssrc] of [...this.#rids.keys()].entries()) {
      args.push(
        ...['-map', `[v${i}]`, '-c:v', 'libx264', '-profile:v', 'baseline', '-preset', 'veryfast'],
        ...['-tune', 'zerolatency', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0'],
        ...['-pix_fmt', 'yuv420p'],
        ...['-f', 'rtp', '-payload_type', String(VIDEO_PT), '-ssrc', String(ssrc), rtp],
      );
    }
    return args;
  }

  /**
   * One datagram from ffmpeg: Opus RTP to the audio track, a layer's RTP with its rid
   * added to the video track, RTCP sender reports to their SSRC's track.
   */
  #forward(msg: Buffer): void {
    if (msg.length < 12) return;
    const rtcp = msg[1]! >= 200 && msg[1]! <= 204;
    const ssrc = msg.readUInt32BE(rtcp ? 4 : 8);
    const rid = this.#rids.get(ssrc);
    const pt = msg[1]! & 0x7f;
    const track = rid === undefined ? this.#audio : this.#video;
    if (!track.isOpen()) return;
    if (!rtcp && rid === undefined && pt !== AUDIO_PT) return;
    const count = (this.forwarded[rid ?? 'audio'] ??= { rtp: 0, sr: 0 });
    if (rtcp) count.sr++;
    else count.rtp++;
    const lose = this.#lose;
    if (!rtcp && lose !== null && lose.rid === rid && lose.left > 0) {
      lose.left--;
      this.lost++;
      return;
    }
    track.sendMessageBinary(rtcp || rid === undefined ? msg : withRid(msg, rid));
  }

  #sendFrame(unit: Buffer, startTs: number, fps: number): void {
    if (!this.#video.isOpen()) return;
    this.#config.timestamp = (startTs + Math.round((this.framesSent * 90000) / fps)) >>> 0;
    this.#video.sendMessageBinary(unit);
    this.framesSent++;
  }

  /**
   * Simulcast: the next `packets` RTP packets of layer `rid` are lost on the way and never
   * repaired (the raw forwarding has no NACK responder).
   */
  loseNext(rid: string, packets: number): void {
    this.#lose = { rid, left: packets };
  }

  /** Resolves when ffmpeg has exited (at once when it never ran). */
  mediaEnded(): Promise<void> {
    const child = this.#ffmpeg;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  delete(): Promise<Response> {
    return fetch(this.location, { method: 'DELETE' });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#ffmpeg) await terminate(this.#ffmpeg, 2000).catch(() => undefined);
      const socket = this.#socket;
      if (socket) await new Promise<void>((r) => socket.close(() => r()));
      this.pc.close();
    })();
    return this.#closing;
  }
}

/**
 * The RTP packet with an RFC 8285 one-byte header extension carrying `rid` (RFC 8852
 * rtp-stream-id, id RID_EXT_ID) after its CSRCs: the X bit set, profile 0xBEDE, the
 * element padded to 32 bits. ffmpeg's packets have no extension of their own.
 */
export function withRid(rtp: Buffer, rid: string): Buffer {
  const csrcEnd = 12 + 4 * (rtp[0]! & 0x0f);
  if (rtp[0]! & 0x10) throw new Error('the packet has a header extension already');
  const id = Buffer.from(rid, 'ascii');
  const words = Math.ceil((1 + id.length) / 4);
  const ext = Buffer.alloc(4 + 4 * words);
  ext.writeUInt16BE(0xbede, 0);
  ext.writeUInt16BE(words, 2);
  ext[4] = (RID_EXT_ID << 4) | (id.length - 1);
  id.copy(ext, 5);
  const out = Buffer.concat([rtp.subarray(0, csrcEnd), ext, rtp.subarray(csrcEnd)]);
  out[0] = out[0]! | 0x10;
  return out;
}

/** Access units of an H.265 Annex-B byte stream that has an AUD (type 35) before each. */
class AnnexBAccessUnits {
  #buf = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    const starts: number[] = [];
    for (let i = 0; i + 4 < this.#buf.length; i++) {
      const b = this.#buf;
      if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1 && ((b[i + 3]! >> 1) & 0x3f) === 35) {
        starts.push(i > 0 && b[i - 1] === 0 ? i - 1 : i);
      }
    }
    const out: Buffer[] = [];
    for (let k = 0; k + 1 < starts.length; k++) out.push(this.#buf.subarray(starts[k], starts[k + 1]));
    if (starts.length > 1) this.#buf = this.#buf.subarray(starts[starts.length - 1]);
    return out;
  }
}

/** Temporal units of an AV1 low-overhead OBU stream (`-f obu`): each starts at a temporal delimiter. */
class ObuTemporalUnits {
  #buf = Buffer.alloc(0);
  #unit: Buffer[] = [];

  push(chunk: Buffer): Buffer[] {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      let parsed;
      try {
        parsed = readObu(this.#buf, at);
      } catch {
        break; // incomplete: wait for more bytes
      }
      const bytes = this.#buf.subarray(at, parsed.next);
      if (parsed.obu.type === AV1_OBU.temporalDelimiter && this.#unit.length > 0) {
        out.push(Buffer.concat(this.#unit));
        this.#unit = [];
      }
      this.#unit.push(bytes);
      at = parsed.next;
    }
    this.#buf = this.#buf.subarray(at);
    return out;
  }
}

/**
 * Ends libdatachannel's threads, so the test process can exit: call once in afterAll of
 * a suite that used DataChannelPublisher, after closing every publisher.
 */
export function stopDataChannels(): void {
  cleanup();
}

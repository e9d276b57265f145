import { RtpHeader, RtpPacket } from 'werift';
import { WHEP_AUDIO_RENDITION } from '../../core/preset.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { RetransmitBuffer } from '../../live/index.js';
import {
  avcParameterSets,
  objectKey,
  parseInit,
  parseName,
  readSamples,
  type LiveEvent,
  type LiveRenditionState,
  type Storage,
  type TrackInfo,
} from '../../packager/index.js';
import { H264Packetizer } from './h264-packetizer.js';
import { PlayoutClock } from './playout-clock.js';

/** One rung as a viewer may choose it: name, size and what it costs to receive. */
export interface RungInfo {
  name: string;
  width: number;
  height: number;
  /** Measured over the last few seconds of parts (video; audio added by the chooser). */
  bitrateBps: number;
}

/** A packet of the ladder for WHEP viewers: a rung's video, or the stream's Opus. */
export interface RungPacket {
  kind: 'video' | 'audio';
  /** The rung (video), or the audio rendition. */
  rendition: string;
  /** Names the rendition and its run: a new run is a new source to a viewer's rewriter. */
  source: string;
  rtp: RtpPacket;
  keyStart: boolean;
}

export type RungListener = (p: RungPacket, nowMs: number) => void;

export interface RungFeedOptions {
  streamId: string;
  storage: Pick<Storage, 'get'>;
  log: Logger;
  /** Packets kept per rendition for NACKs. @defaultValue 1024 */
  retransmitPackets?: number;
}

const BITRATE_WINDOW_MS = 4000;
/** Opus in MP4 is one packet a sample; the RTP payload type is the viewer's own (rewritten per viewer). */
const OPUS_CLOCK = 48_000;
const VIDEO_CLOCK = 90_000;

interface Rendition {
  name: string;
  kind: 'video' | 'audio';
  /** The init segment (EXT-X-MAP) the parts now are of, and what it says. */
  map: string | null;
  track: TrackInfo | null;
  paramSets: { sps: Buffer[]; pps: Buffer[]; lengthSize: number } | null;
  run: number;
  packetizer: H264Packetizer | null;
  audioSeq: number;
  /** Parts in arrival order, parsed one after the other (an init may have to be read first). */
  chain: Promise<void>;
  lastPart: string;
  retransmit: RetransmitBuffer;
  /** Bytes and media seconds of recent parts, for the rung's bit rate. */
  recent: { atMs: number; bytes: number; seconds: number }[];
}

/**
 * A live stream's ladder as RTP, for WHEP viewers in rung mode, made on any API process
 * from the parts its origin receives on the bus (every process gets them): each part is
 * read into samples, H.264 rungs packetized (RFC 6184, parameter sets before every key
 * frame) and Opus taken one packet a sample, and the samples are sent at their media
 * times on one playout clock (PlayoutClock), so the viewer gets a steady stream, audio and
 * video in step, rather than a burst per part. Each packet is made once for every viewer.
 */
export class RungFeed {
  readonly streamId: string;
  readonly #o: RungFeedOptions;
  readonly #log: Logger;
  readonly #renditions = new Map<string, Rendition>();
  readonly #listeners = new Set<RungListener>();
  readonly #clock = new PlayoutClock();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inits = new Map<string, Promise<Buffer | null>>();
  #closed = false;

  constructor(o: RungFeedOptions) {
    this.streamId = o.streamId;
    this.#o = o;
    this.#log = o.log.child({ streamId: o.streamId, component: 'rung-feed' });
  }

  onPacket(listener: RungListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The H.264 rungs with parts now, highest bit rate first. */
  rungs(): RungInfo[] {
    const now = Date.now();
    const out: RungInfo[] = [];
    for (const r of this.#renditions.values()) {
      if (r.kind !== 'video' || !r.track || !r.paramSets) continue;
      out.push({
        name: r.name,
        width: r.track.width ?? 0,
        height: r.track.height ?? 0,
        bitrateBps: bitrateOf(r, now),
      });
    }
    return out.sort((a, b) => b.bitrateBps - a.bitrateBps || b.height - a.height);
  }

  /** Bit rate of the audio viewers get (0 while none). */
  audioBitrateBps(): number {
    const a = this.#audio();
    return a ? bitrateOf(a, Date.now()) : 0;
  }

  /** A packet of `rendition` sent lately, by its sequence number (NACK). */
  retransmit(rendition: string, seq: number): RtpPacket | undefined {
    return this.#renditions.get(rendition)?.retransmit.get(seq);
  }

  /** One bus event of this stream (the caller filters by stream). */
  event(e: LiveEvent): void {
    if (this.#closed || !e.part) return;
    const kind = this.#kindOf(e);
    if (!kind) return;
    const map = mapOf(e.state, e.part.msn);
    if (!map) return;
    let r = this.#renditions.get(e.rendition);
    if (!r) {
      r = {
        name: e.rendition,
        kind,
        map: null,
        track: null,
        paramSets: null,
        run: -1,
        packetizer: null,
        audioSeq: randomSeq(),
        chain: Promise.resolve(),
        lastPart: '',
        retransmit: new RetransmitBuffer(this.#o.retransmitPackets ?? 1024),
        recent: [],
      };
      this.#renditions.set(e.rendition, r);
    }
    if (r.lastPart === e.part.uri) return;
    r.lastPart = e.part.uri;
    const rendition = r;
    const part = e.part;
    const body = e.partBody;
    rendition.chain = rendition.chain
      .then(async () => {
        const bytes = body ?? (await this.#o.storage.get(objectKey(this.streamId, part.uri)))?.body;
        if (!bytes || this.#closed) return;
        if (rendition.map !== map && !(await this.#load(rendition, map))) return;
        this.#part(rendition, bytes);
      })
      .catch((err: unknown) => {
        this.#log.warn(
          { rendition: rendition.name, part: part.uri, err: errorMessage(err) },
          'a part could not be sent to WHEP viewers',
        );
      });
  }

  /** Idempotent: stops sending. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#listeners.clear();
  }

  /** Video rungs, and the one audio rendition that is Opus (WHEP_AUDIO_RENDITION, or `audio` when it is Opus). */
  #kindOf(e: LiveEvent): 'video' | 'audio' | null {
    if (e.rendition === WHEP_AUDIO_RENDITION) return 'audio';
    if (e.rendition === 'audio') return this.#renditions.has(WHEP_AUDIO_RENDITION) ? null : 'audio';
    return 'video';
  }

  #audio(): Rendition | null {
    for (const r of this.#renditions.values()) if (r.kind === 'audio' && r.track) return r;
    return null;
  }

  async #load(r: Rendition, map: string): Promise<boolean> {
    let init = this.#inits.get(map);
    if (!init) {
      init = this.#o.storage.get(objectKey(this.streamId, map)).then((o) => o?.body ?? null);
      this.#inits.set(map, init);
      init.catch(() => this.#inits.delete(map));
    }
    const body = await init;
    if (!body) return false;
    // The run before this one is over for this rendition: its init is not needed again.
    if (r.map !== null && r.map !== map) this.#inits.delete(r.map);
    const track = parseInit(body);
    const run = parseName(map);
    r.map = map;
    r.run = run && run.kind === 'init' ? (run.run ?? 0) : 0;
    r.track = track;
    if (r.kind === 'video') {
      // Only H.264 rungs can go to a viewer that offered H.264; others are skipped.
      if (track.sampleEntry !== 'avc1' && track.sampleEntry !== 'avc3') {
        r.paramSets = null;
        return false;
      }
      r.paramSets = avcParameterSets(body);
      r.packetizer ??= new H264Packetizer({ initialSeq: randomSeq() });
    } else if (track.sampleEntry !== 'Opus') {
      return false;
    }
    return true;
  }

  #part(r: Rendition, bytes: Buffer): void {
    const track = r.track!;
    const samples = readSamples(bytes, track);
    if (samples.length === 0) return;
    const now = Date.now();
    let seconds = 0;
    for (const s of samples) seconds += s.duration / track.timescale;
    r.recent.push({ atMs: now, bytes: bytes.length, seconds });
    while (r.recent.length > 0 && now - r.recent[0]!.atMs > BITRATE_WINDOW_MS) r.recent.shift();
    // Prefixed: a viewer's rewriter tells it from a publisher session's source (made once a part, not a packet).
    const source = `rung:${r.name}:${r.run}`;
    const first = samples[0]!.decodeTime / track.timescale;
    this.#clock.arrived(r.run, first, performance.now());
    for (const s of samples) {
      const media = s.decodeTime / track.timescale;
      let packets: RtpPacket[];
      if (r.kind === 'video') {
        const ts = Math.round(media * VIDEO_CLOCK) >>> 0;
        packets = r.packetizer!.packetize(
          s.data,
          r.paramSets!.lengthSize,
          ts,
          s.sync ? r.paramSets! : undefined,
        );
      } else {
        const ts = Math.round(media * OPUS_CLOCK) >>> 0;
        const header = new RtpHeader({
          payloadType: 111,
          sequenceNumber: r.audioSeq,
          timestamp: ts,
          marker: false,
        });
        r.audioSeq = (r.audioSeq + 1) & 0xffff;
        packets = [new RtpPacket(header, s.data)];
      }
      const keyFirst = r.kind === 'video' && s.sync;
      this.#at(this.#clock.sendAt(r.run, media), () => {
        const at = Date.now();
        packets.forEach((rtp, i) => {
          r.retransmit.push(rtp);
          this.#emit({ kind: r.kind, rendition: r.name, source, rtp, keyStart: keyFirst && i === 0 }, at);
        });
      });
    }
  }

  #at(perfMs: number, send: () => void): void {
    const wait = perfMs - performance.now();
    if (wait <= 1) {
      send();
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) send();
    }, wait);
    this.#timers.add(t);
  }

  #emit(p: RungPacket, nowMs: number): void {
    for (const l of this.#listeners) {
      try {
        l(p, nowMs);
      } catch (e) {
        this.#log.warn({ err: e }, 'a WHEP viewer failed to take a rung packet');
      }
    }
  }
}

function randomSeq(): number {
  return Math.floor(Math.random() * 0x8000);
}

function bitrateOf(r: Rendition, now: number): number {
  let bytes = 0;
  let seconds = 0;
  for (const p of r.recent) {
    if (now - p.atMs > BITRATE_WINDOW_MS) continue;
    bytes += p.bytes;
    seconds += p.seconds;
  }
  return seconds > 0 ? Math.round((bytes * 8) / seconds) : 0;
}

/** The init segment the part (msn, …) of this state needs: its segment's EXT-X-MAP. */
function mapOf(s: LiveRenditionState, msn: number): string | null {
  if (s.open && s.open.msn === msn) return s.open.map;
  for (let i = s.segments.length - 1; i >= 0; i--) {
    const seg = s.segments[i]!;
    if (seg.msn === msn) return seg.map;
  }
  return null;
}

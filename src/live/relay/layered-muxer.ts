import type { AudioTrackInfo, MediaFrame, VideoTrackInfo } from '../../core/media.js';
import { KeyframeAlignment, type AlignmentOptions } from './keyframe-alignment.js';
import { opusHead } from './matroska/opus.js';
import { MatroskaLiveWriter, type MkvTrack, type MkvVideoTrack } from './matroska/writer.js';
import { videoPayload, videoTrack, type RelayLayerTrack, type RelayMuxOutput } from './muxer.js';

export interface LayeredMuxerOptions extends AlignmentOptions {
  video: VideoTrackInfo;
  audio: AudioTrackInfo | null;
  /**
   * How long, from the first frame, the layers may take to show aligned key frames
   * before the body is refused, ms. Two key frames at OBS's 2 s interval fit. @defaultValue 10000
   */
  alignWaitMs?: number;
  /** Bytes buffered per layer while waiting for the start (one GOP). @defaultValue 16 MiB */
  maxLayerBufferBytes?: number;
}

interface LayerState {
  rid: string | null;
  name: string;
  /** Frames since its newest key frame (before the start only). */
  gop: MediaFrame[];
  gopBytes: number;
  /** Media time 0 of this layer's track: its key frame at the start instant, µs. */
  baseUs: number;
  track: number;
  /** The track entry the body declared (its parameter sets must not change). */
  entry: MkvVideoTrack | null;
  /** Media time of its newest frame, and the least step between two of its frames, µs. */
  lastUs: number | null;
  minStepUs: number | null;
}

/** Audio kept while waiting, so the first blocks after the start have their audio, µs. */
const AUDIO_KEEP_US = 3_000_000;
/**
 * A step between two frames of a layer longer than this many of its frame intervals, and
 * than HOLE_MIN_US, is a hole: frames lost and never repaired (ingest then waits for the
 * layer's next key frame). One lost frame at 30 fps (67 ms) is not: its part grows by a
 * frame, which PART-TARGET absorbs.
 */
const HOLE_FRAMES = 2.5;
const HOLE_MIN_US = 60_000;

/**
 * A passthrough relay body's muxing, as a pure state machine: every layer of a simulcast
 * session (or the one encoding) as its own H.264 track, and the audio, in one Matroska
 * stream, so the worker's one ffmpeg copies each layer to a rendition (`-c:v copy`).
 *
 * The body starts at an instant where every layer has a key frame, once the layers have
 * shown `minKeyframes` such instants (KeyframeAlignment), and each track's time 0 is its
 * own key frame there: the layers' constant clock offsets are gone, so every rendition's
 * fMP4 starts at the same media time and its key frames (segment boundaries) stay on
 * the same times. Frames of the GOP that led to the start are buffered, so the start
 * costs no extra GOP. Refused (`refuse`) when the layers are not aligned, not H.264, or
 * do not show enough key frames within `alignWaitMs`; once started, a key frame that
 * breaks the alignment or a layer whose parameter sets change ends the body
 * (`incompatible`), and the worker's next request is judged afresh.
 */
export class LayeredMuxer {
  readonly #o: LayeredMuxerOptions;
  readonly #layers: LayerState[];
  readonly #align: KeyframeAlignment;
  #audio: MediaFrame[] = [];
  #writer: MatroskaLiveWriter | null = null;
  #audioTrack = 0;
  #audioBaseUs = 0;
  #firstMs: number | null = null;
  #failed = false;
  #behind = false;

  constructor(o: LayeredMuxerOptions) {
    this.#o = o;
    const rids = o.video.layers?.map((l) => l.rid) ?? [null];
    this.#layers = rids.map((rid) => ({
      rid,
      name: rid === null ? 'the stream' : `layer ${rid}`,
      gop: [],
      gopBytes: 0,
      baseUs: 0,
      track: 0,
      entry: null,
      lastUs: null,
      minStepUs: null,
    }));
    this.#align = new KeyframeAlignment(
      this.#layers.map((l) => l.name),
      o,
    );
  }

  get started(): boolean {
    return this.#writer !== null;
  }

  /** Never asks the publisher for key frames: its own GOP is what keeps the layers aligned. */
  get waitingForKeyframe(): boolean {
    return false;
  }

  /** The consumer fell behind: a passthrough body cannot skip frames in one layer only, so it ends. */
  resync(): void {
    this.#behind = true;
  }

  /** Refuses the body when the layers took too long to show aligned key frames. */
  tick(nowMs: number): RelayMuxOutput | null {
    if (this.started || this.#failed || this.#firstMs === null) return null;
    const wait = this.#o.alignWaitMs ?? 10_000;
    if (nowMs - this.#firstMs < wait) return null;
    const v = this.#align.verdict();
    const matched = v.state === 'misaligned' ? 0 : v.matched;
    return this.#refuse(
      `fewer than ${this.#o.minKeyframes ?? 2} key frames common to every layer within ${wait / 1000} s ` +
        `(${matched} seen): set the encoder's key frame interval to 1-2 s`,
    );
  }

  push(frame: MediaFrame, rid: string | null): RelayMuxOutput {
    if (this.#failed) return { type: 'drop', reason: 'waiting_for_keyframe' };
    if (frame.kind === 'audio') return this.#pushAudio(frame);
    const index = this.#layers.findIndex((l) => l.rid === rid);
    const layer = this.#layers[index];
    if (!layer) return { type: 'drop', reason: 'unknown_track' };
    this.#firstMs ??= frame.arrivalMs;
    if (frame.codec !== 'h264') {
      return this.#refuse(
        `${frame.codec} cannot be passed through: only H.264 is packaged as it is received`,
      );
    }
    this.#align.push(index, frame.timeUs, Math.round(frame.arrivalMs * 1000), frame.keyframe);
    const step = layer.lastUs === null ? 0 : frame.timeUs - layer.lastUs;
    layer.lastUs = frame.timeUs;
    const hole =
      this.#writer !== null &&
      layer.minStepUs !== null &&
      step > Math.max(HOLE_MIN_US, HOLE_FRAMES * layer.minStepUs);
    if (step > 0 && !hole) layer.minStepUs = Math.min(layer.minStepUs ?? step, step);
    if (!this.#writer) return this.#wait(layer, frame);
    if (this.#behind) return this.#end('the relay consumer fell behind');
    // A copied layer cannot bridge a hole: ffmpeg would give the frame before it the whole
    // hole as its duration, one part far over PART-TARGET (RFC 8216bis 4.4.4.9). Ending the
    // body ends the run there (its last frame keeps a frame's length) and the next run
    // starts at the next common key frame behind EXT-X-DISCONTINUITY, every rendition at
    // the same msn. (GAP=YES parts were tried: hls.js 1.7 stops loading after one.)
    if (hole) {
      return this.#end(
        `${layer.name} skipped ${(step / 1e6).toFixed(3)} s (frames lost and not repaired): ` +
          'the renditions go on from the next common key frame',
      );
    }
    // Judged at every frame: a layer's lone key frame shows once the others have passed its instant.
    const v = this.#align.verdict();
    if (v.state === 'misaligned')
      return this.#end(`the layers' key frames are no longer aligned: ${v.reason}`);
    if (frame.keyframe) {
      const entry = videoTrack(frame, this.#o.video);
      if (entry && layer.entry && !sameTrack(entry, layer.entry)) {
        return this.#end(`${layer.name} changed its size or parameter sets`);
      }
    }
    if (frame.timeUs < layer.baseUs) return { type: 'drop', reason: 'before_start' };
    const ms = Math.round((frame.timeUs - layer.baseUs) / 1000);
    return { type: 'data', bytes: this.#writer.block(layer.track, ms, frame.keyframe, videoPayload(frame)) };
  }

  #pushAudio(frame: MediaFrame): RelayMuxOutput {
    if (!this.#o.audio) return { type: 'drop', reason: 'unknown_track' };
    if (!this.#writer) {
      this.#audio.push(frame);
      while (this.#audio.length > 0 && frame.timeUs - this.#audio[0]!.timeUs > AUDIO_KEEP_US)
        this.#audio.shift();
      return { type: 'drop', reason: 'waiting_for_keyframe' };
    }
    if (this.#behind) return this.#end('the relay consumer fell behind');
    if (frame.timeUs < this.#audioBaseUs) return { type: 'drop', reason: 'before_start' };
    const ms = Math.round((frame.timeUs - this.#audioBaseUs) / 1000);
    return { type: 'data', bytes: this.#writer.block(this.#audioTrack, ms, true, frame.data) };
  }

  /** Before the start: buffer the layer's GOP; start once every layer has an aligned key frame at one instant. */
  #wait(layer: LayerState, frame: MediaFrame): RelayMuxOutput {
    if (frame.keyframe) {
      layer.gop = [];
      layer.gopBytes = 0;
    }
    if (layer.gop.length > 0 || frame.keyframe) {
      layer.gop.push(frame);
      layer.gopBytes += frame.data.length;
      if (layer.gopBytes > (this.#o.maxLayerBufferBytes ?? 16 * 1024 * 1024)) {
        layer.gop = [];
        layer.gopBytes = 0;
      }
    }
    const v = this.#align.verdict();
    if (v.state === 'misaligned') return this.#refuse(`the layers' key frames are not aligned: ${v.reason}`);
    if (v.state !== 'aligned') return { type: 'drop', reason: 'waiting_for_keyframe' };
    const tol = this.#align.tolerance();
    const starts = this.#layers.map((l, i) => {
      const k = l.gop[0];
      return k ? this.#align.corrected(i, k.timeUs) : null;
    });
    if (starts.some((t) => t === null)) return { type: 'drop', reason: 'waiting_for_keyframe' };
    const times = starts as number[];
    if (Math.max(...times) - Math.min(...times) > tol)
      return { type: 'drop', reason: 'waiting_for_keyframe' };
    return this.#start();
  }

  #start(): RelayMuxOutput {
    const entries = this.#layers.map((l) => videoTrack(l.gop[0]!, this.#o.video));
    if (entries.some((e) => e === null)) return { type: 'drop', reason: 'waiting_for_keyframe' };
    // Largest first: the order of the worker's renditions (and of the multivariant).
    const order = this.#layers
      .map((l, i) => ({ l, e: entries[i]! }))
      .sort((a, b) => b.e.width * b.e.height - a.e.width * a.e.height);
    const tracks: MkvTrack[] = [];
    const layers: RelayLayerTrack[] = [];
    for (const { l, e } of order) {
      tracks.push(e);
      l.track = tracks.length;
      l.entry = e;
      l.baseUs = l.gop[0]!.timeUs;
      layers.push({ rid: l.rid, width: e.width, height: e.height });
    }
    if (this.#o.audio) {
      tracks.push({
        kind: 'audio',
        codecId: 'A_OPUS',
        codecPrivate: opusHead(this.#o.audio.channels, this.#o.audio.sampleRate, 0),
        sampleRate: this.#o.audio.sampleRate,
        channels: this.#o.audio.channels,
      });
      this.#audioTrack = tracks.length;
    }
    const writer = new MatroskaLiveWriter(tracks);
    this.#writer = writer;
    const top = order[0]!.l;
    // Audio is on the session's clock, which the top layer's (the layer handed on) shares.
    this.#audioBaseUs = top.baseUs;
    const pending: { at: number; bytes: () => Buffer }[] = [];
    for (const { l } of order) {
      for (const f of l.gop) {
        const ms = Math.round((f.timeUs - l.baseUs) / 1000);
        pending.push({ at: ms, bytes: () => writer.block(l.track, ms, f.keyframe, videoPayload(f)) });
      }
      l.gop = [];
      l.gopBytes = 0;
    }
    for (const f of this.#audio) {
      if (f.timeUs < this.#audioBaseUs || this.#audioTrack === 0) continue;
      const ms = Math.round((f.timeUs - this.#audioBaseUs) / 1000);
      pending.push({ at: ms, bytes: () => writer.block(this.#audioTrack, ms, true, f.data) });
    }
    this.#audio = [];
    // Stable sort: on equal times the larger layer first, then audio.
    pending.sort((a, b) => a.at - b.at);
    const bytes = Buffer.concat([writer.header(), ...pending.map((p) => p.bytes())]);
    return {
      type: 'start',
      baseUs: top.baseUs,
      tracks: {
        video: 'h264',
        audio: this.#o.audio?.codec ?? null,
        width: layers[0]!.width,
        height: layers[0]!.height,
      },
      layers,
      bytes,
    };
  }

  #refuse(reason: string): RelayMuxOutput {
    this.#failed = true;
    return { type: 'refuse', reason };
  }

  #end(reason: string): RelayMuxOutput {
    this.#failed = true;
    return { type: 'incompatible', reason };
  }
}

function sameTrack(a: MkvVideoTrack, b: MkvVideoTrack): boolean {
  return (
    a.width === b.width &&
    a.height === b.height &&
    (a.codecPrivate ?? Buffer.alloc(0)).equals(b.codecPrivate ?? Buffer.alloc(0))
  );
}

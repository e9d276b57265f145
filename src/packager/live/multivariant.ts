import { playlistName } from '../names.js';
import { averageBitrate, peakBitrate, type SizedSegment } from '../bandwidth.js';
import type { TrackInfo } from '../mp4/init.js';
import type { MultivariantPlaylist, Rendition, Variant } from '../playlist/multivariant.js';
import type { RenditionSpec } from '../rendition.js';
import { AUDIO_GROUP, audioRendition, type MultivariantOptions } from '../playlist/audio-rendition.js';

/** What the live packager knows of one rendition that has published a part in the current run. */
export interface LiveVariantInput {
  spec: RenditionSpec;
  /** From the run's init segment: CODECS, RESOLUTION, channels. */
  track: TrackInfo;
  /** Measured from the first fragment (duration / samples), for FRAME-RATE when the spec has no fps. */
  frameSeconds?: number;
  /** The run's complete segments so far, for measured bit rates. */
  segments: readonly SizedSegment[];
  targetDuration: number;
}

/**
 * Segments needed before measured bit rates replace the preset's nominal ones: enough
 * for RFC 8216bis's peak (any run of segments between 0.5 and 1.5 target durations).
 */
export const MEASURE_AFTER_SEGMENTS = 6;

/**
 * RFC 8216bis 4.4.6.2: BANDWIDTH is the peak segment bit rate. Before any is measured
 * it is estimated from the encoder target: x264/NVENC under a VBV cap overshoot the
 * average by up to the maxrate (the presets allow 1.5x), so peak = 1.5 x nominal.
 */
const NOMINAL_PEAK_FACTOR = 1.5;

interface Rates {
  peak: number;
  average: number;
}

function rates(r: LiveVariantInput): Rates {
  if (r.segments.length >= MEASURE_AFTER_SEGMENTS) {
    return {
      peak: peakBitrate(r.segments, r.targetDuration),
      average: averageBitrate(r.segments),
    };
  }
  const nominal = r.spec.nominalBitrateKbps * 1000;
  return { peak: Math.round(nominal * NOMINAL_PEAK_FACTOR), average: Math.round(nominal) };
}

function frameRate(r: LiveVariantInput): number | undefined {
  if (r.spec.fps !== undefined) return r.spec.fps;
  if (r.frameSeconds && r.frameSeconds > 0) return Math.round((1 / r.frameSeconds) * 1000) / 1000;
  return undefined;
}

/**
 * The live ladder's Multivariant Playlist: one variant per video rendition (highest
 * BANDWIDTH first) playing with the audio rendition when there is one.
 */
export function liveMultivariant(
  inputs: readonly LiveVariantInput[],
  o: MultivariantOptions = {},
): MultivariantPlaylist {
  const audio = inputs.find((r) => r.spec.kind === 'audio');
  const video = inputs.filter((r) => r.spec.kind === 'video');
  const audioRates = audio ? rates(audio) : { peak: 0, average: 0 };
  const renditions: Rendition[] = [];
  if (audio && video.length > 0) {
    renditions.push(audioRendition(audio, o));
  }
  const variants: Variant[] = video.map((r) => {
    const own = rates(r);
    const v: Variant = {
      // RFC 8216bis 4.4.6.2: the sum over "any playable combination of Renditions": one video, one audio.
      bandwidth: own.peak + audioRates.peak,
      averageBandwidth: own.average + audioRates.average,
      codecs: audio ? [r.track.codec, audio.track.codec] : [r.track.codec],
      uri: playlistName(r.spec.name),
    };
    const width = r.track.width || r.spec.width;
    const height = r.track.height || r.spec.height;
    if (width && height) v.resolution = { width, height };
    const fps = frameRate(r);
    if (fps !== undefined) v.frameRate = fps;
    if (audio) v.audio = AUDIO_GROUP;
    return v;
  });
  if (video.length === 0 && audio) {
    variants.push({
      bandwidth: audioRates.peak,
      averageBandwidth: audioRates.average,
      codecs: [audio.track.codec],
      uri: playlistName(audio.spec.name),
    });
  }
  variants.sort((a, b) => b.bandwidth - a.bandwidth);
  // Every live segment starts at a keyframe: GOPs are aligned to the segment grid, and
  // the segmenter cuts without one only when a GOP overruns the target (logged).
  return { independentSegments: true, renditions, variants };
}

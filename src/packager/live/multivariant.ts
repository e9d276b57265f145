import { playlistName } from '../names.js';
import { averageBitrate, type SizedSegment } from '../bandwidth.js';
import type { TrackInfo } from '../mp4/init.js';
import type { MultivariantPlaylist, Rendition, Variant } from '../playlist/multivariant.js';
import type { RenditionSpec } from '../rendition.js';
import { WHEP_AUDIO_RENDITION } from '../../core/preset.js';
import { AUDIO_GROUP, audioRendition, type MultivariantOptions } from '../playlist/audio-rendition.js';

/** What the live packager knows of one rendition that has published a part in the current run. */
export interface LiveVariantInput {
  spec: RenditionSpec;
  /** From the run's init segment: CODECS, RESOLUTION, channels. */
  track: TrackInfo;
  /** Measured from the first fragment (duration / samples), for FRAME-RATE when the spec has no fps. */
  frameSeconds?: number;
  /** The run's complete segments so far, for the measured average. */
  segments: readonly SizedSegment[];
  /** The highest peak segment bit rate measured so far, bits/s (0 before any). */
  measuredPeakBps: number;
}

interface Rates {
  peak: number;
  average: number;
}

/**
 * RFC 8216bis 4.4.6.2: BANDWIDTH is the peak segment bit rate. From the first playlist a
 * variant declares at least what its encoder is configured to send at most (the VBV
 * maxrate), so a player never takes a rung for cheaper than it can be; a measured peak
 * above that raises it, and it never comes down again. AVERAGE-BANDWIDTH is measured,
 * the encoder target until a segment is complete.
 */
function rates(r: LiveVariantInput): Rates {
  const configured = (r.spec.peakBitrateKbps ?? r.spec.nominalBitrateKbps) * 1000;
  return {
    peak: Math.round(Math.max(configured, r.measuredPeakBps)),
    average:
      r.segments.length > 0 ? averageBitrate(r.segments) : Math.round(r.spec.nominalBitrateKbps * 1000),
  };
}

function frameRate(r: LiveVariantInput): number | undefined {
  if (r.spec.fps !== undefined) return r.spec.fps;
  if (r.frameSeconds && r.frameSeconds > 0) return Math.round((1 / r.frameSeconds) * 1000) / 1000;
  return undefined;
}

/**
 * The live ladder's Multivariant Playlist: one variant per video rendition, highest
 * configured rate first, playing with the audio rendition when there is one.
 */
export function liveMultivariant(
  inputs: readonly LiveVariantInput[],
  o: MultivariantOptions = {},
): MultivariantPlaylist {
  // WHEP's Opus is for WebRTC viewers only.
  const audio = inputs.find((r) => r.spec.kind === 'audio' && r.spec.name !== WHEP_AUDIO_RENDITION);
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
      closedCaptions: 'NONE',
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
      closedCaptions: 'NONE',
      uri: playlistName(audio.spec.name),
    });
  }
  // Highest configured rate first (the ladder's top rung, where players start), and in
  // that order whatever the measured rates do later: a list that reorders its variants
  // between reloads confuses players' level indexes.
  const configured = (v: Variant) => inputs.find((r) => playlistName(r.spec.name) === v.uri)?.spec;
  const order = (v: Variant) => {
    const spec = configured(v);
    return spec ? (spec.peakBitrateKbps ?? spec.nominalBitrateKbps) : 0;
  };
  variants.sort((a, b) => order(b) - order(a));
  // Every live segment starts at a keyframe: GOPs are aligned to the segment grid, and
  // the segmenter cuts without one only when a GOP overruns the target (logged).
  return { independentSegments: true, renditions, variants };
}

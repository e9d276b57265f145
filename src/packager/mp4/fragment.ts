import { BoxCursor, Mp4ParseError, findChild, findChildren, type Box } from './boxes.js';
import type { TrackDefaults, TrackInfo } from './init.js';

/** Timing of one movie fragment (moof) of the track, in the track's timescale. */
export interface FragmentTiming {
  /** tfdt baseMediaDecodeTime; null when the fragment has no tfdt. */
  decodeTime: number | null;
  /** Sum of the sample durations. */
  duration: number;
  sampleCount: number;
  /** Whether the first sample is a sync sample, i.e. the fragment can start playback. */
  keyframe: boolean;
}

// tfhd flags (ISO 14496-12 8.8.7)
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_DEFAULT_SIZE = 0x000010;
const TFHD_DEFAULT_FLAGS = 0x000020;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
// trun flags (ISO 14496-12 8.8.8)
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_CTS = 0x000800;

/**
 * sample_flags (ISO 14496-12 8.8.3.1): bits 25-24 sample_depends_on (1 = depends on
 * others, so not a keyframe; 2 = depends on none), bit 16 sample_is_non_sync_sample.
 */
export function isSyncSample(flags: number): boolean {
  const dependsOn = (flags >>> 24) & 0x3;
  const nonSync = (flags >>> 16) & 0x1;
  return nonSync === 0 && dependsOn !== 1;
}

/** A track fragment header (tfhd): where the fragment's sample data is and its sample defaults. */
export interface TrackFragmentHeader {
  trackId: number;
  /** base_data_offset when the tfhd states one: a byte offset in the file. */
  baseDataOffset: number | undefined;
  /** default-base-is-moof: without a base_data_offset, data offsets count from the moof's first byte. */
  baseIsMoof: boolean;
  duration: number | undefined;
  size: number | undefined;
  flags: number | undefined;
}

export function readTfhd(tfhd: Box): TrackFragmentHeader {
  const c = new BoxCursor(tfhd);
  const { flags } = c.fullHeader();
  const trackId = c.u32();
  const baseDataOffset = flags & TFHD_BASE_DATA_OFFSET ? c.u64() : undefined;
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) c.skip(4);
  const duration = flags & TFHD_DEFAULT_DURATION ? c.u32() : undefined;
  const size = flags & TFHD_DEFAULT_SIZE ? c.u32() : undefined;
  const sampleFlags = flags & TFHD_DEFAULT_FLAGS ? c.u32() : undefined;
  return {
    trackId,
    baseDataOffset,
    baseIsMoof: (flags & TFHD_DEFAULT_BASE_IS_MOOF) !== 0,
    duration,
    size,
    flags: sampleFlags,
  };
}

export function readTfdt(tfdt: Box): number {
  const c = new BoxCursor(tfdt);
  const { version } = c.fullHeader();
  return version === 1 ? c.u64() : c.u32();
}

/** The track's traf in a moof, and its tfhd. */
export function trackFragment(moof: Box, track: TrackInfo): { traf: Box; tfhd: TrackFragmentHeader } {
  for (const traf of findChildren(moof, 'traf')) {
    const box = findChild(traf, 'tfhd');
    if (!box) continue;
    const tfhd = readTfhd(box);
    if (tfhd.trackId === track.trackId) return { traf, tfhd };
  }
  throw new Mp4ParseError('missing_box', `moof has no traf for track ${track.trackId}`);
}

/** The defaults a trun falls back on: the tfhd's where it states them, else the trex's. */
export function fragmentDefaults(tfhd: TrackFragmentHeader, track: TrackInfo): TrackDefaults {
  return {
    sampleDuration: tfhd.duration ?? track.defaults.sampleDuration,
    sampleSize: tfhd.size ?? track.defaults.sampleSize,
    sampleFlags: tfhd.flags ?? track.defaults.sampleFlags,
  };
}

export interface TrunSample {
  duration: number;
  size: number;
  flags: number;
  /** Composition time minus decode time, in track ticks; negative only in a version 1 trun. */
  compositionOffset: number;
}

export interface TrackRun {
  /** data_offset when the run states one: bytes from the traf's base data offset. */
  dataOffset: number | undefined;
  samples: TrunSample[];
}

/** A trun's samples with every field resolved against `defaults`. */
export function readTrun(trun: Box, defaults: TrackDefaults): TrackRun {
  const c = new BoxCursor(trun);
  const { version, flags } = c.fullHeader();
  const count = c.u32();
  const dataOffset = flags & TRUN_DATA_OFFSET ? c.i32() : undefined;
  const firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? c.u32() : undefined;
  const perSample =
    (flags & TRUN_DURATION ? 4 : 0) +
    (flags & TRUN_SIZE ? 4 : 0) +
    (flags & TRUN_FLAGS ? 4 : 0) +
    (flags & TRUN_CTS ? 4 : 0);
  // A corrupt count must fail on the bounds check, not loop for billions of samples.
  if (count * perSample > c.remaining) throw new Mp4ParseError('truncated', `trun lists ${count} samples`);
  const samples: TrunSample[] = [];
  for (let i = 0; i < count; i++) {
    const duration = flags & TRUN_DURATION ? c.u32() : defaults.sampleDuration;
    const size = flags & TRUN_SIZE ? c.u32() : defaults.sampleSize;
    const stated = flags & TRUN_FLAGS ? c.u32() : undefined;
    const sampleFlags = (i === 0 ? firstFlags : undefined) ?? stated ?? defaults.sampleFlags;
    const compositionOffset = flags & TRUN_CTS ? (version === 0 ? c.u32() : c.i32()) : 0;
    samples.push({ duration, size, flags: sampleFlags, compositionOffset });
  }
  return { dataOffset, samples };
}

/** Timing of the track's traf in a moof. */
export function parseMoof(moof: Box, track: TrackInfo): FragmentTiming {
  const { traf, tfhd } = trackFragment(moof, track);
  const tfdt = findChild(traf, 'tfdt');
  const defaults = fragmentDefaults(tfhd, track);
  let duration = 0;
  let first: TrunSample | undefined;
  let sampleCount = 0;
  for (const trun of findChildren(traf, 'trun')) {
    const { samples } = readTrun(trun, defaults);
    first ??= samples[0];
    for (const s of samples) duration += s.duration;
    sampleCount += samples.length;
  }
  return {
    decodeTime: tfdt ? readTfdt(tfdt) : null,
    duration,
    sampleCount,
    keyframe: first !== undefined && isSyncSample(first.flags),
  };
}

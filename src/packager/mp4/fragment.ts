import { BoxCursor, Mp4ParseError, findChild, findChildren, type Box } from './boxes.js';
import type { TrackInfo } from './init.js';

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

interface TfhdDefaults {
  trackId: number;
  duration: number | undefined;
  flags: number | undefined;
}

function readTfhd(tfhd: Box): TfhdDefaults {
  const c = new BoxCursor(tfhd);
  const { flags } = c.fullHeader();
  const trackId = c.u32();
  if (flags & TFHD_BASE_DATA_OFFSET) c.skip(8);
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) c.skip(4);
  const duration = flags & TFHD_DEFAULT_DURATION ? c.u32() : undefined;
  if (flags & TFHD_DEFAULT_SIZE) c.skip(4);
  const sampleFlags = flags & TFHD_DEFAULT_FLAGS ? c.u32() : undefined;
  return { trackId, duration, flags: sampleFlags };
}

function readTfdt(tfdt: Box): number {
  const c = new BoxCursor(tfdt);
  const { version } = c.fullHeader();
  return version === 1 ? c.u64() : c.u32();
}

interface TrunSummary {
  count: number;
  duration: number;
  /** Flags of the run's first sample when the run states them. */
  firstFlags: number | undefined;
}

function readTrun(trun: Box, defaultDuration: number): TrunSummary {
  const c = new BoxCursor(trun);
  const { flags } = c.fullHeader();
  const count = c.u32();
  if (flags & TRUN_DATA_OFFSET) c.skip(4);
  let firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? c.u32() : undefined;
  const perSample =
    (flags & TRUN_DURATION ? 4 : 0) +
    (flags & TRUN_SIZE ? 4 : 0) +
    (flags & TRUN_FLAGS ? 4 : 0) +
    (flags & TRUN_CTS ? 4 : 0);
  // A corrupt count must fail on the bounds check, not loop for billions of samples.
  if (count * perSample > c.remaining) throw new Mp4ParseError('truncated', `trun lists ${count} samples`);
  let duration = 0;
  for (let i = 0; i < count; i++) {
    duration += flags & TRUN_DURATION ? c.u32() : defaultDuration;
    if (flags & TRUN_SIZE) c.skip(4);
    if (flags & TRUN_FLAGS) {
      const f = c.u32();
      if (i === 0 && firstFlags === undefined) firstFlags = f;
    }
    if (flags & TRUN_CTS) c.skip(4);
  }
  return { count, duration, firstFlags };
}

/** Timing of the track's traf in a moof. */
export function parseMoof(moof: Box, track: TrackInfo): FragmentTiming {
  const traf = findChildren(moof, 'traf').find((t) => {
    const tfhd = findChild(t, 'tfhd');
    return tfhd !== undefined && readTfhd(tfhd).trackId === track.trackId;
  });
  if (!traf) throw new Mp4ParseError('missing_box', `moof has no traf for track ${track.trackId}`);
  const tfhd = readTfhd(findChild(traf, 'tfhd')!);
  const tfdt = findChild(traf, 'tfdt');
  const defaultDuration = tfhd.duration ?? track.defaults.sampleDuration;
  const defaultFlags = tfhd.flags ?? track.defaults.sampleFlags;
  let duration = 0;
  let sampleCount = 0;
  let firstFlags: number | undefined;
  for (const trun of findChildren(traf, 'trun')) {
    const run = readTrun(trun, defaultDuration);
    if (sampleCount === 0 && run.count > 0) firstFlags = run.firstFlags ?? defaultFlags;
    duration += run.duration;
    sampleCount += run.count;
  }
  return {
    decodeTime: tfdt ? readTfdt(tfdt) : null,
    duration,
    sampleCount,
    keyframe: sampleCount > 0 && isSyncSample(firstFlags ?? defaultFlags),
  };
}

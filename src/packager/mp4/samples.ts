import { BoxCursor, Mp4ParseError, boxes, findChild, findChildren, requirePath, type Box } from './boxes.js';
import { fragmentDefaults, isSyncSample, readTfdt, readTrun, trackFragment } from './fragment.js';
import { sampleEntry, VISUAL_ENTRY_BYTES, type TrackInfo } from './init.js';

/** One coded frame (video) or packet (audio) of a track, located in the part it came in. */
export interface Mp4Sample {
  /** Track timescale ticks, absolute: the fragment's tfdt plus the durations of the samples before it. */
  decodeTime: number;
  /** Track timescale ticks. */
  duration: number;
  /** Presentation time minus decode time in ticks (trun composition offset); 0 without B-frames. */
  compositionOffset: number;
  sync: boolean;
  /** A view into the input, not a copy: it lives as long as the part's memory does. */
  data: Buffer;
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * The samples of `track` in a part: one or more moof+mdat pairs of a single-track
 * fragmented MP4. Offsets follow ISO 14496-12 8.8.7.1 and 8.8.8.1: a run's data_offset
 * counts from the traf's base, which is the tfhd's base_data_offset if stated (taken as an
 * offset into `part`, so that form only works on a part that starts the file) and the
 * moof's first byte otherwise (default-base-is-moof, or the first traf of a moof); a run
 * without data_offset continues where the previous run's data ended. A fragment without
 * tfdt continues the previous one's timeline, from 0 for the first.
 */
export function readSamples(part: Uint8Array | Buffer, track: TrackInfo): Mp4Sample[] {
  const buf = asBuffer(part);
  const top = [...boxes(buf)];
  const mdats = top.filter((b) => b.type === 'mdat');
  const samples: Mp4Sample[] = [];
  let nextDecodeTime = 0;
  for (const moof of top) {
    if (moof.type !== 'moof') continue;
    const { traf, tfhd } = trackFragment(moof, track);
    const defaults = fragmentDefaults(tfhd, track);
    const tfdt = findChild(traf, 'tfdt');
    let time = tfdt ? readTfdt(tfdt) : nextDecodeTime;
    const base = tfhd.baseDataOffset ?? moof.start;
    let at = base;
    for (const trun of findChildren(traf, 'trun')) {
      const run = readTrun(trun, defaults);
      if (run.dataOffset !== undefined) at = base + run.dataOffset;
      for (const s of run.samples) {
        checkSampleRange(buf, mdats, at, s.size);
        samples.push({
          decodeTime: time,
          duration: s.duration,
          compositionOffset: s.compositionOffset,
          sync: isSyncSample(s.flags),
          data: buf.subarray(at, at + s.size),
        });
        at += s.size;
        time += s.duration;
      }
    }
    nextDecodeTime = time;
  }
  return samples;
}

/** Sample bytes outside every mdat are a wrong offset or size; the bytes there are not the sample. */
function checkSampleRange(buf: Buffer, mdats: readonly Box[], at: number, size: number): void {
  if (at < 0 || at + size > buf.length) {
    throw new Mp4ParseError('truncated', `sample of ${size} bytes at offset ${at} overruns the part`);
  }
  if (!mdats.some((m) => at >= m.payload && at + size <= m.end)) {
    throw new Mp4ParseError('bad_box', `sample of ${size} bytes at offset ${at} is not inside an mdat`);
  }
}

/** What a sender of H.264 samples needs from avcC: how to split them into NAL units, and the parameter sets. */
export interface AvcParameterSets {
  /** Sequence parameter sets, NAL header byte included (type 7). */
  sps: Buffer[];
  /** Picture parameter sets, NAL header byte included (type 8). */
  pps: Buffer[];
  /** Bytes of the big-endian length before each NAL unit in a sample: 1, 2 or 4. */
  lengthSize: number;
}

/**
 * The avcC (AVCDecoderConfigurationRecord, ISO 14496-15 5.3.3.1) of the init segment's
 * avc1/avc3 sample entry. Returned buffers are views into `init`.
 */
export function avcParameterSets(init: Uint8Array): AvcParameterSets {
  const buf = asBuffer(init);
  for (const moov of boxes(buf)) {
    if (moov.type !== 'moov') continue;
    for (const trak of findChildren(moov, 'trak')) {
      const entry = sampleEntry(requirePath(trak, ['mdia', 'minf', 'stbl']));
      if (entry.type !== 'avc1' && entry.type !== 'avc3') continue;
      const avcC = findChild(entry, 'avcC', VISUAL_ENTRY_BYTES);
      if (avcC) return readAvcC(avcC, buf);
    }
  }
  throw new Mp4ParseError('missing_box', 'init segment has no avc1/avc3 sample entry with an avcC');
}

function readAvcC(avcC: Box, buf: Buffer): AvcParameterSets {
  const c = new BoxCursor(avcC);
  c.skip(4); // configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication
  const lengthSize = (c.u8() & 0x03) + 1;
  const nalUnits = (count: number): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const length = c.u16();
      const start = c.pos;
      c.skip(length);
      out.push(buf.subarray(start, start + length));
    }
    return out;
  };
  const sps = nalUnits(c.u8() & 0x1f);
  const pps = nalUnits(c.u8());
  return { sps, pps, lengthSize };
}

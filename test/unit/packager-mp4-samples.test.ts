import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Mp4ParseError, boxes, findChildren } from '../../src/packager/mp4/boxes.js';
import { fragmentDefaults, readTrun, trackFragment } from '../../src/packager/mp4/fragment.js';
import { parseInit, type TrackInfo } from '../../src/packager/mp4/init.js';
import { avcParameterSets, readSamples, type Mp4Sample } from '../../src/packager/mp4/samples.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const MOVFLAGS = '+cmaf+frag_keyframe+empty_moov+default_base_moof+delay_moov+skip_sidx+skip_trailer';

function ffmpegOut(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(FFMPEG, ['-hide_banner', '-v', 'error', '-nostdin', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`ffmpeg exited ${code}: ${err}`)),
    );
  });
}

interface Fmp4 {
  file: Buffer;
  init: Buffer;
  /** Each moof with its mdat. */
  parts: Buffer[];
}

/** The init segment (everything up to the moov) and the moof+mdat pairs after it. */
function split(file: Buffer): Fmp4 {
  const top = [...boxes(file)];
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Error('no moov');
  const parts: Buffer[] = [];
  for (const [i, b] of top.entries()) {
    if (b.type !== 'moof') continue;
    const mdat = top[i + 1];
    if (mdat?.type !== 'mdat') throw new Error('moof without mdat');
    parts.push(file.subarray(b.start, mdat.end));
  }
  return { file, init: file.subarray(0, moov.end), parts };
}

function generateVideo(): Promise<Buffer> {
  return ffmpegOut([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '2'],
    ...['-c:v', 'libx264', '-g', '30', '-bf', '0'],
    ...['-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '200000', 'pipe:1'],
  ]);
}

const expectContiguous = (samples: Mp4Sample[]): void => {
  for (let i = 1; i < samples.length; i++) {
    expect(samples[i]!.decodeTime).toBe(samples[i - 1]!.decodeTime + samples[i - 1]!.duration);
  }
};

describe('readSamples and avcParameterSets on x264 fMP4 from ffmpeg', () => {
  let mp4: Fmp4;
  let track: TrackInfo;
  let samples: Mp4Sample[];

  beforeAll(async () => {
    mp4 = split(await generateVideo());
    track = parseInit(mp4.init);
    samples = mp4.parts.flatMap((p) => readSamples(p, track));
  });

  it('reads 60 frames over 2 s with contiguous decode times from 0', () => {
    expect(mp4.parts.length).toBeGreaterThan(2);
    expect(samples).toHaveLength(60);
    expect(samples[0]!.decodeTime).toBe(0);
    expectContiguous(samples);
    const last = samples[59]!;
    expect((last.decodeTime + last.duration) / track.timescale).toBeCloseTo(2, 5);
    expect(samples.every((s) => s.compositionOffset === 0)).toBe(true);
  });

  it('marks every 30th frame, and only those, as sync', () => {
    expect(samples.map((s, i) => [i, s.sync])).toEqual(samples.map((_, i) => [i, i % 30 === 0]));
  });

  it('reads several moof+mdat pairs in one part the same as one at a time', () => {
    const all = mp4.file.subarray(mp4.init.length);
    const together = readSamples(all, track);
    expect(together.map((s) => [s.decodeTime, s.duration, s.sync, s.data.length])).toEqual(
      samples.map((s) => [s.decodeTime, s.duration, s.sync, s.data.length]),
    );
  });

  it('returns views of the input with the trun sizes, each holding whole AVCC NAL units', () => {
    const sizes = mp4.parts.flatMap((p) => {
      const moof = boxes(p).next().value!;
      const { traf, tfhd } = trackFragment(moof, track);
      const defaults = fragmentDefaults(tfhd, track);
      return findChildren(traf, 'trun').flatMap((t) => readTrun(t, defaults).samples.map((s) => s.size));
    });
    expect(samples.map((s) => s.data.length)).toEqual(sizes);
    const { lengthSize } = avcParameterSets(mp4.init);
    for (const s of samples) {
      expect(s.data.buffer).toBe(mp4.file.buffer);
      let at = 0;
      let nals = 0;
      while (at < s.data.length) {
        at += lengthSize + s.data.readUIntBE(at, lengthSize);
        nals++;
      }
      expect(at).toBe(s.data.length);
      expect(nals).toBeGreaterThan(0);
    }
  });

  it('finds the avcC parameter sets and NAL length size', () => {
    const sets = avcParameterSets(mp4.init);
    expect(sets.lengthSize).toBe(4);
    expect(sets.sps).toHaveLength(1);
    expect(sets.pps).toHaveLength(1);
    expect(sets.sps[0]![0]! & 0x1f).toBe(7);
    expect(sets.pps[0]![0]! & 0x1f).toBe(8);
    // profile_idc in the SPS matches the codec string built from the same avcC.
    expect(track.codec).toBe(`avc1.${sets.sps[0]!.subarray(1, 4).toString('hex')}`);
  });

  it('throws Mp4ParseError on a truncated part, and on a moof whose data is not there', () => {
    const part = mp4.parts[1]!;
    expect(() => readSamples(part.subarray(0, part.length - 100), track)).toThrow(Mp4ParseError);
    const moof = boxes(part).next().value!;
    const moofOnly = part.subarray(0, moof.end);
    expect(() => readSamples(moofOnly, track)).toThrow(expect.objectContaining({ code: 'truncated' }));
    // The same bytes where the mdat was, but in a box that is not an mdat.
    const renamed = Buffer.from(part);
    renamed.write('free', moof.end + 4, 'latin1');
    expect(() => readSamples(renamed, track)).toThrow(expect.objectContaining({ code: 'bad_box' }));
  });
});

describe('readSamples on Opus fMP4 from ffmpeg', () => {
  it('reads 20 ms packets at 48 kHz with contiguous decode times', async () => {
    const mp4 = split(
      await ffmpegOut([
        ...['-f', 'lavfi', '-i', 'sine', '-t', '1', '-c:a', 'libopus', '-b:a', '64k'],
        ...['-f', 'mp4', '-movflags', MOVFLAGS, 'pipe:1'],
      ]),
    );
    const track = parseInit(mp4.init);
    expect(track.timescale).toBe(48000);
    const samples = mp4.parts.flatMap((p) => readSamples(p, track));
    expect(samples.length).toBeGreaterThanOrEqual(50);
    expect(samples.every((s) => s.sync)).toBe(true);
    // ffmpeg 5.1 cuts the last packet's duration to where the 1 s of audio plus the
    // 312-sample pre-skip ends; every other packet is a full 20 ms.
    expect(samples.slice(0, -1).every((s) => s.duration === 960)).toBe(true);
    const last = samples[samples.length - 1]!;
    expect(last.duration).toBeGreaterThan(0);
    expect(last.duration).toBeLessThanOrEqual(960);
    expectContiguous(samples);
    expect(samples.every((s) => s.data.length > 0)).toBe(true);
    expect(() => avcParameterSets(mp4.init)).toThrow(expect.objectContaining({ code: 'missing_box' }));
  });
});

// Hand-built boxes for the fields ffmpeg never writes: base_data_offset, trex defaults, several runs.
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
}
const fullBox = (type: string, version: number, flags: number, ...payload: Buffer[]): Buffer =>
  box(type, u32(((version << 24) | flags) >>> 0), ...payload);

const SYNC = 0x02000000; // sample_depends_on = 2
const NON_SYNC = 0x01010000; // depends on others, non-sync
const handTrack: TrackInfo = {
  trackId: 1,
  timescale: 1000,
  handler: 'vide',
  kind: 'video',
  sampleEntry: 'avc1',
  codec: 'avc1.42c01e',
  defaults: { sampleDuration: 100, sampleSize: 0, sampleFlags: NON_SYNC },
};

describe('readSamples on hand-built fragments', () => {
  it('honours base_data_offset, tfhd and trex defaults, first-sample flags and runs without data_offset', () => {
    const mdat = box('mdat', Buffer.from('AAAABBBBCC'));
    // tfhd: base_data_offset (8, the mdat payload), default size 4; duration and flags from trex.
    const moof1 = box(
      'moof',
      box(
        'traf',
        fullBox('tfhd', 0, 0x000011, u32(1), u64(8), u32(4)),
        fullBox('tfdt', 1, 0, u64(5000)),
        fullBox('trun', 0, 0x000004, u32(2), u32(SYNC)),
        fullBox('trun', 0, 0x000300, u32(1), u32(50), u32(2)),
      ),
    );
    // No tfdt: the timeline continues. default-base-is-moof with a negative data_offset
    // reaching back into the first mdat.
    const trun2 = (offset: number): Buffer =>
      fullBox('trun', 1, 0x000a01, u32(1), u32(offset), u32(4), u32(-20 >>> 0));
    const part = Buffer.concat([mdat, moof1]);
    const moof2 = box('moof', box('traf', fullBox('tfhd', 0, 0x020000, u32(1)), trun2(-part.length + 8 + 4)));
    const samples = readSamples(Buffer.concat([part, moof2]), handTrack);
    expect(
      samples.map((s) => [s.decodeTime, s.duration, s.sync, s.compositionOffset, s.data.toString()]),
    ).toEqual([
      [5000, 100, true, 0, 'AAAA'],
      [5100, 100, false, 0, 'BBBB'],
      [5200, 50, false, 0, 'CC'],
      [5250, 100, false, -20, 'BBBB'],
    ]);
  });

  it('takes a Uint8Array as well as a Buffer', () => {
    const mdat = box('mdat', Buffer.from('xyz'));
    const moof = box(
      'moof',
      box('traf', fullBox('tfhd', 0, 0x020010, u32(1), u32(3)), fullBox('trun', 0, 0x000001, u32(1), u32(0))),
    );
    // data_offset 0 points at the moof itself, not an mdat.
    expect(() => readSamples(new Uint8Array(Buffer.concat([moof, mdat])), handTrack)).toThrow(
      expect.objectContaining({ code: 'bad_box' }),
    );
    const ok = box(
      'moof',
      box(
        'traf',
        fullBox('tfhd', 0, 0x020010, u32(1), u32(3)),
        fullBox('trun', 0, 0x000001, u32(1), u32(moof.length + 8)),
      ),
    );
    const [s] = readSamples(new Uint8Array(Buffer.concat([ok, mdat])), handTrack);
    expect(s?.data.toString()).toBe('xyz');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Mp4ParseError, boxes, readBoxHeader, type Box } from '../../src/packager/mp4/boxes.js';
import { isSyncSample, parseMoof } from '../../src/packager/mp4/fragment.js';
import { parseInit, parseMoov, type TrackInfo } from '../../src/packager/mp4/init.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../test/fixtures/fmp4/${name}`, import.meta.url));

// Hand-built boxes: a few helpers so each test states only the fields it is about.
const u8 = (...v: number[]): Buffer => Buffer.from(v);
const u16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};
const u64 = (v: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
};
const zeros = (n: number): Buffer => Buffer.alloc(n);
function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
}
function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u32(((version << 24) | flags) >>> 0), ...payload);
}
const asBox = (buf: Buffer): Box => {
  const b = boxes(buf).next();
  if (b.done) throw new Error('no box');
  return b.value;
};

function tkhd(id: number, width: number, height: number): Buffer {
  return fullBox(
    'tkhd',
    0,
    3,
    zeros(8),
    u32(id),
    zeros(4),
    zeros(4),
    zeros(8 + 8 + 36),
    u32(width << 16),
    u32(height << 16),
  );
}
const mdhd = (timescale: number, version = 0): Buffer =>
  version === 1
    ? fullBox('mdhd', 1, 0, zeros(16), u32(timescale), u64(0n), zeros(4))
    : fullBox('mdhd', 0, 0, zeros(8), u32(timescale), u32(0), zeros(4));
const hdlr = (t: string): Buffer => fullBox('hdlr', 0, 0, zeros(4), Buffer.from(t), zeros(12), u8(0));
const stsd = (entry: Buffer): Buffer => fullBox('stsd', 0, 0, u32(1), entry);
function visualEntry(type: string, w: number, h: number, ...children: Buffer[]): Buffer {
  return box(
    type,
    zeros(6),
    u16(1),
    zeros(16),
    u16(w),
    u16(h),
    zeros(46),
    u16(0x18),
    u16(0xffff),
    ...children,
  );
}
function audioEntry(type: string, channels: number, rate: number, ...children: Buffer[]): Buffer {
  return box(
    type,
    zeros(6),
    u16(1),
    zeros(8),
    u16(channels),
    u16(16),
    zeros(4),
    u32(rate << 16),
    ...children,
  );
}
const trex = (id: number, dur: number, size: number, flags: number): Buffer =>
  fullBox('trex', 0, 0, u32(id), u32(1), u32(dur), u32(size), u32(flags));
function moov(opts: {
  id?: number;
  timescale?: number;
  handler: string;
  entry: Buffer;
  trex?: Buffer;
  w?: number;
  h?: number;
}): Buffer {
  const id = opts.id ?? 1;
  const trak = box(
    'trak',
    tkhd(id, opts.w ?? 0, opts.h ?? 0),
    box(
      'mdia',
      mdhd(opts.timescale ?? 90000),
      hdlr(opts.handler),
      box('minf', box('stbl', stsd(opts.entry))),
    ),
  );
  return box('moov', fullBox('mvhd', 0, 0, zeros(96)), trak, box('mvex', opts.trex ?? trex(id, 0, 0, 0)));
}
/** An esds with ES_Descriptor → DecoderConfigDescriptor → DecoderSpecificInfo, 1-byte lengths. */
function esds(oti: number, asc: number[]): Buffer {
  const dsi = asc.length ? Buffer.concat([u8(0x05, asc.length), u8(...asc)]) : zeros(0);
  const dcd = Buffer.concat([u8(0x04, 13 + dsi.length, oti, 0x15), zeros(3), u32(128000), u32(128000), dsi]);
  const es = Buffer.concat([u8(0x03, 3 + dcd.length), u16(1), u8(0), dcd]);
  return fullBox('esds', 0, 0, es);
}

describe('readBoxHeader', () => {
  it.each([
    [
      'a 32-bit size',
      Buffer.concat([u32(24), Buffer.from('moof')]),
      { type: 'moof', size: 24, headerSize: 8 },
    ],
    [
      'a 64-bit largesize',
      Buffer.concat([u32(1), Buffer.from('mdat'), u64(5_000_000_000n)]),
      { type: 'mdat', size: 5_000_000_000, headerSize: 16 },
    ],
    [
      'size 0 (to the end)',
      Buffer.concat([u32(0), Buffer.from('mdat')]),
      { type: 'mdat', size: 0, headerSize: 8 },
    ],
  ])('reads %s', (_name, buf, want) => {
    expect(readBoxHeader(buf, 0)).toEqual(want);
  });

  it('waits for more bytes instead of guessing', () => {
    expect(readBoxHeader(Buffer.from([0, 0, 0]), 0)).toBeNull();
    expect(readBoxHeader(Buffer.concat([u32(1), Buffer.from('mdat'), u32(0)]), 0)).toBeNull();
  });

  it.each([
    ['a size below the header', Buffer.concat([u32(5), Buffer.from('moof')]), 'bad_box'],
    ['a largesize below the header', Buffer.concat([u32(1), Buffer.from('mdat'), u64(9n)]), 'bad_box'],
    ['a non-ASCII type', Buffer.concat([u32(16), u8(0, 1, 2, 3)]), 'bad_box'],
    ['a size past 2^53', Buffer.concat([u32(1), Buffer.from('mdat'), u64(1n << 60n)]), 'box_too_large'],
  ])('rejects %s', (_name, buf, code) => {
    expect(() => readBoxHeader(buf, 0)).toThrow(Mp4ParseError);
    try {
      readBoxHeader(buf, 0);
    } catch (e) {
      expect((e as Mp4ParseError).code).toBe(code);
    }
  });
});

describe('boxes', () => {
  it('walks siblings and nested containers', () => {
    const buf = Buffer.concat([box('ftyp', zeros(8)), box('moov', box('mvhd', zeros(4)), box('trak'))]);
    const top = [...boxes(buf)];
    expect(top.map((b) => [b.type, b.start, b.end])).toEqual([
      ['ftyp', 0, 16],
      ['moov', 16, 16 + 8 + 12 + 8],
    ]);
    const moovBox = top[1]!;
    expect([...boxes(buf, moovBox.payload, moovBox.end)].map((b) => b.type)).toEqual(['mvhd', 'trak']);
  });

  it('refuses a child that overruns its parent', () => {
    const bad = box('moov', Buffer.concat([u32(100), Buffer.from('trak')]));
    const moovBox = asBox(bad);
    expect(() => [...boxes(bad, moovBox.payload, moovBox.end)]).toThrow(/overruns/);
  });
});

describe('parseMoov (hand-built)', () => {
  const avcC = box('avcC', u8(1, 0x64, 0x00, 0x1f, 0xff, 0xe0, 0x00));

  it('reads an H.264 video track', () => {
    const info = parseMoov(
      asBox(
        moov({
          id: 2,
          timescale: 15360,
          handler: 'vide',
          w: 1280,
          h: 720,
          entry: visualEntry('avc1', 1280, 720, avcC),
          trex: trex(2, 512, 0, 0x01010000),
        }),
      ),
    );
    expect(info).toEqual({
      trackId: 2,
      timescale: 15360,
      handler: 'vide',
      kind: 'video',
      sampleEntry: 'avc1',
      codec: 'avc1.64001f',
      width: 1280,
      height: 720,
      defaults: { sampleDuration: 512, sampleSize: 0, sampleFlags: 0x01010000 },
    });
  });

  it('falls back on the sample entry size when tkhd has none', () => {
    const info = parseMoov(asBox(moov({ handler: 'vide', entry: visualEntry('avc3', 640, 360, avcC) })));
    expect([info.width, info.height, info.codec]).toEqual([640, 360, 'avc3.64001f']);
  });

  it('reads a version 1 mdhd', () => {
    const m = box(
      'moov',
      box(
        'trak',
        tkhd(1, 0, 0),
        box(
          'mdia',
          mdhd(48000, 1),
          hdlr('soun'),
          box('minf', box('stbl', stsd(audioEntry('Opus', 2, 48000, box('dOps', zeros(11)))))),
        ),
      ),
    );
    expect(parseMoov(asBox(m))).toMatchObject({
      timescale: 48000,
      kind: 'audio',
      codec: 'opus',
      channels: 2,
      sampleRate: 48000,
    });
  });

  it.each([
    ['AAC-LC', esds(0x40, [0x11, 0x90]), 'mp4a.40.2'],
    ['HE-AAC', esds(0x40, [0x2b, 0x11]), 'mp4a.40.5'],
    ['an escaped object type (USAC = 42)', esds(0x40, [0xf9, 0x40]), 'mp4a.40.42'],
    ['MP3 (no DecoderSpecificInfo)', esds(0x6b, []), 'mp4a.6B'],
  ])('names %s', (_name, e, codec) => {
    const info = parseMoov(
      asBox(moov({ handler: 'soun', timescale: 44100, entry: audioEntry('mp4a', 2, 44100, e) })),
    );
    expect(info).toMatchObject({ kind: 'audio', codec, channels: 2, sampleRate: 44100 });
  });

  it('refuses a moov with two tracks, or none', () => {
    const trak = box('trak', tkhd(1, 0, 0));
    expect(() => parseMoov(asBox(box('moov', trak, trak)))).toThrow(/2 tracks/);
    expect(() => parseMoov(asBox(box('moov')))).toThrow(/no trak/);
  });

  it('names the missing box', () => {
    const m = box('moov', box('trak', tkhd(1, 0, 0), box('mdia', mdhd(1000), hdlr('vide'))));
    expect(() => parseMoov(asBox(m))).toThrow(/mdia has no minf/);
  });

  it('refuses a truncated field rather than reading the next box', () => {
    const m = box('moov', box('trak', fullBox('tkhd', 0, 0, zeros(4))));
    expect(() => parseMoov(asBox(m))).toThrow(/tkhd is too short/);
  });
});

describe('parseMoof (hand-built)', () => {
  const track: TrackInfo = {
    trackId: 1,
    timescale: 90000,
    handler: 'vide',
    kind: 'video',
    sampleEntry: 'avc1',
    codec: 'avc1.64001f',
    defaults: { sampleDuration: 1000, sampleSize: 0, sampleFlags: 0x01010000 },
  };
  const KEY = 0x02000000;
  const NON_KEY = 0x01010000;
  const moof = (...traf: Buffer[]): Box =>
    asBox(box('moof', fullBox('mfhd', 0, 0, u32(1)), box('traf', ...traf)));
  const tfhd = (flags: number, ...fields: Buffer[]): Buffer =>
    fullBox('tfhd', 0, 0x020000 | flags, u32(1), ...fields);
  const tfdt0 = (t: number): Buffer => fullBox('tfdt', 0, 0, u32(t));

  it.each<
    [
      string,
      Buffer[],
      { decodeTime: number | null; duration: number; sampleCount: number; keyframe: boolean },
    ]
  >([
    [
      'per-sample durations and first_sample_flags',
      [
        tfhd(0),
        tfdt0(9000),
        fullBox('trun', 0, 0x000105, u32(3), u32(0), u32(KEY), u32(3000), u32(3000), u32(3003)),
      ],
      { decodeTime: 9000, duration: 9003, sampleCount: 3, keyframe: true },
    ],
    [
      'tfhd default duration and default flags (non-sync)',
      [tfhd(0x28, u32(1500), u32(NON_KEY)), tfdt0(0), fullBox('trun', 0, 0x000001, u32(4), u32(0))],
      { decodeTime: 0, duration: 6000, sampleCount: 4, keyframe: false },
    ],
    [
      'trex defaults when tfhd has none',
      [tfhd(0), tfdt0(0), fullBox('trun', 0, 0, u32(2))],
      { decodeTime: 0, duration: 2000, sampleCount: 2, keyframe: false },
    ],
    [
      'per-sample flags, the first one sync',
      [tfhd(0x08, u32(100)), tfdt0(0), fullBox('trun', 0, 0x000400, u32(2), u32(KEY), u32(NON_KEY))],
      { decodeTime: 0, duration: 200, sampleCount: 2, keyframe: true },
    ],
    [
      'first_sample_flags win over per-sample flags',
      [tfhd(0x08, u32(100)), tfdt0(0), fullBox('trun', 0, 0x000404, u32(1), u32(NON_KEY), u32(KEY))],
      { decodeTime: 0, duration: 100, sampleCount: 1, keyframe: false },
    ],
    [
      'a 64-bit tfdt and two truns',
      [
        tfhd(0x08, u32(10)),
        fullBox('tfdt', 1, 0, u64(10_000_000_000n)),
        fullBox('trun', 0, 0x000004, u32(2), u32(KEY)),
        fullBox('trun', 0, 0x000100, u32(1), u32(7)),
      ],
      { decodeTime: 10_000_000_000, duration: 27, sampleCount: 3, keyframe: true },
    ],
    [
      'no tfdt, sizes and composition offsets skipped',
      [
        tfhd(0x01 | 0x02 | 0x10, u64(0n), u32(1), u32(99)),
        fullBox('trun', 1, 0x000b01, u32(1), u32(0), u32(40), u32(5), u32(-1 >>> 0)),
      ],
      { decodeTime: null, duration: 40, sampleCount: 1, keyframe: false },
    ],
    [
      'an empty run',
      [tfhd(0), tfdt0(5), fullBox('trun', 0, 0, u32(0))],
      { decodeTime: 5, duration: 0, sampleCount: 0, keyframe: false },
    ],
  ])('reads %s', (_name, traf, want) => {
    expect(parseMoof(moof(...traf), track)).toEqual(want);
  });

  it('refuses a sample count the trun cannot hold', () => {
    expect(() => parseMoof(moof(tfhd(0), fullBox('trun', 0, 0x100, u32(0x7fffffff))), track)).toThrow(
      /trun lists/,
    );
  });

  it('needs a traf for the track', () => {
    const other = asBox(box('moof', box('traf', fullBox('tfhd', 0, 0, u32(7)))));
    expect(() => parseMoof(other, track)).toThrow(/no traf for track 1/);
  });

  it.each([
    [0x02000000, true],
    [0x00000000, true],
    [0x01010000, false],
    [0x00010000, false],
    [0x01000000, false],
  ])('sample flags %s → sync %s', (flags, sync) => {
    expect(isSyncSample(flags)).toBe(sync);
  });
});

describe('parseInit (ffmpeg 5.1 output)', () => {
  it.each<[string, Partial<TrackInfo>]>([
    ['h264.mp4', { kind: 'video', codec: 'avc1.64000b', width: 160, height: 90, timescale: 15360 }],
    ['hevc.mp4', { kind: 'video', codec: 'hvc1.1.6.L30.90', width: 64, height: 64 }],
    ['av1.mp4', { kind: 'video', codec: 'av01.0.00M.08', width: 64, height: 64 }],
    ['aac.mp4', { kind: 'audio', codec: 'mp4a.40.2', channels: 2, sampleRate: 48000, timescale: 48000 }],
    ['opus.mp4', { kind: 'audio', codec: 'opus', channels: 2, sampleRate: 48000, timescale: 48000 }],
  ])('%s', (file, want) => {
    expect(parseInit(fixture(file))).toMatchObject({ trackId: 1, ...want });
  });
});

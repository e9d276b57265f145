import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Fmp4Splitter, type Fmp4Event, type FragmentEvent } from '../../src/packager/fmp4-splitter.js';
import { Mp4ParseError } from '../../src/packager/mp4/boxes.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../test/fixtures/fmp4/${name}`, import.meta.url));

function split(data: Buffer, cuts: number[]): Fmp4Event[] {
  const s = new Fmp4Splitter();
  const events: Fmp4Event[] = [];
  let at = 0;
  for (const c of [...cuts, data.length]) {
    events.push(...s.push(data.subarray(at, c)));
    at = c;
  }
  events.push(...s.end());
  return events;
}

/** What two splits must agree on: types, timing and the exact bytes. */
const digest = (events: Fmp4Event[]) =>
  events.map((e) =>
    e.type === 'init'
      ? { type: e.type, hex: e.data.toString('hex'), codec: e.info.codec }
      : { type: e.type, hex: e.data.toString('hex'), t: e.decodeTime, d: e.duration, k: e.keyframe },
  );

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof Mp4ParseError) return e.code;
    throw e;
  }
  return undefined;
}

const box = (type: string, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + payload.length);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, payload]);
};

describe('Fmp4Splitter on ffmpeg output', () => {
  it.each(['h264.mp4', 'aac.mp4', 'opus.mp4', 'hevc.mp4', 'av1.mp4'])(
    '%s: init, then contiguous fragments',
    (file) => {
      const data = fixture(file);
      const events = split(data, []);
      const [init, ...frags] = events;
      expect(init?.type).toBe('init');
      expect(frags.length).toBeGreaterThan(1);
      const fragments = frags as FragmentEvent[];
      expect(fragments.every((f) => f.type === 'fragment')).toBe(true);
      // Each fragment starts where the previous one ended: the tfdt and trun agree.
      for (let i = 1; i < fragments.length; i++) {
        expect(fragments[i]!.decodeTime).toBe(fragments[i - 1]!.decodeTime + fragments[i - 1]!.duration);
      }
      expect(fragments[0]!.decodeTime).toBe(0);
      expect(fragments[0]!.keyframe).toBe(true);
      // Only the trailing mfra (which indexes the whole file) is dropped.
      const kept = Buffer.concat(events.map((e) => e.data));
      expect(data.subarray(0, kept.length).equals(kept)).toBe(true);
      expect(data.toString('latin1', kept.length + 4, kept.length + 8)).toBe('mfra');
    },
  );

  it('h264: 2 s at 30 fps with a keyframe each second', () => {
    const fragments = split(fixture('h264.mp4'), []).filter((e): e is FragmentEvent => e.type === 'fragment');
    const total = fragments.reduce((a, f) => a + f.duration, 0);
    expect(total / fragments[0]!.timescale).toBeCloseTo(2, 5);
    expect(fragments.reduce((a, f) => a + f.sampleCount, 0)).toBe(60);
    const keyTimes = fragments.filter((f) => f.keyframe).map((f) => f.decodeTime / f.timescale);
    expect(keyTimes).toEqual([0, 1]);
  });

  it('gives the same events for 1-byte chunks', () => {
    const data = fixture('h264.mp4');
    const cuts = Array.from({ length: data.length - 1 }, (_, i) => i + 1);
    expect(digest(split(data, cuts))).toEqual(digest(split(data, [])));
  });

  it('gives the same events for any chunk boundaries', () => {
    const data = fixture('aac.mp4');
    const whole = digest(split(data, []));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 60 }), (cuts) => {
        expect(
          digest(
            split(
              data,
              [...cuts].sort((a, b) => a - b),
            ),
          ),
        ).toEqual(whole);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps styp and prft with the fragment they precede', () => {
    const data = fixture('h264.mp4');
    const [init, first] = split(data, []);
    const styp = box('styp', Buffer.from('msdh\0\0\0\0msdh'));
    const events = split(Buffer.concat([init!.data, styp, first!.data]), []);
    expect(events[1]?.data.subarray(0, styp.length).equals(styp)).toBe(true);
    expect(events[1]?.data.length).toBe(styp.length + first!.data.length);
  });
});

describe('Fmp4Splitter on bad input', () => {
  const [init, frag] = split(fixture('h264.mp4'), []) as [Fmp4Event, FragmentEvent];
  const moof = frag.data.subarray(0, frag.data.readUInt32BE(0));
  const mdat = frag.data.subarray(moof.length);

  it.each<[string, () => unknown, string]>([
    // 'GET ' read as a box size is 1.2 GB.
    [
      'text instead of MP4',
      () => new Fmp4Splitter().push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
      'box_too_large',
    ],
    [
      'a non-ASCII box type',
      () => new Fmp4Splitter().push(Buffer.from([0, 0, 0, 16, 0xff, 0xd8, 0xff, 0xe0])),
      'bad_box',
    ],
    [
      'a size below the header',
      () => new Fmp4Splitter().push(Buffer.from([0, 0, 0, 3, 0x66, 0x74, 0x79, 0x70])),
      'bad_box',
    ],
    [
      'a box above the cap',
      () =>
        new Fmp4Splitter({ maxBoxBytes: 1024 }).push(
          Buffer.concat([init.data, box('mdat', Buffer.alloc(2000))]),
        ),
      'box_too_large',
    ],
    ['a moof before the moov', () => new Fmp4Splitter().push(frag.data), 'unexpected_box'],
    [
      'an mdat without a moof',
      () => new Fmp4Splitter().push(Buffer.concat([init.data, mdat])),
      'unexpected_box',
    ],
    [
      'two moofs in a row',
      () => new Fmp4Splitter().push(Buffer.concat([init.data, moof, moof])),
      'unexpected_box',
    ],
    ['a second moov', () => new Fmp4Splitter().push(Buffer.concat([init.data, init.data])), 'unexpected_box'],
    [
      'input ending inside a box',
      () => {
        const s = new Fmp4Splitter();
        s.push(Buffer.concat([init.data, frag.data.subarray(0, 100)]));
        return s.end();
      },
      'truncated',
    ],
    [
      'input ending between moof and mdat',
      () => {
        const s = new Fmp4Splitter();
        s.push(Buffer.concat([init.data, moof]));
        return s.end();
      },
      'truncated',
    ],
  ])('%s is a typed error', (_name, f, code) => {
    expect(codeOf(f)).toBe(code);
  });

  it('refuses a huge declared size at once, without waiting for (or buffering) its bytes', () => {
    const s = new Fmp4Splitter();
    const header = Buffer.alloc(16);
    header.writeUInt32BE(1);
    header.write('mdat', 4, 'latin1');
    header.writeBigUInt64BE(1n << 40n, 8);
    expect(codeOf(() => s.push(Buffer.concat([init.data, header])))).toBe('box_too_large');
  });

  it('keeps failing after an error', () => {
    const s = new Fmp4Splitter();
    expect(codeOf(() => s.push(Buffer.from('garbage!')))).toBe('box_too_large');
    expect(codeOf(() => s.push(init.data))).toBe('box_too_large');
    expect(codeOf(() => s.end())).toBe('box_too_large');
  });

  it('terminates on random bytes with an event list or a typed error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 512 }),
        fc.integer({ min: 1, max: 64 }),
        (bytes, chunk) => {
          const s = new Fmp4Splitter({ maxBoxBytes: 4096 });
          try {
            for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
            s.end();
          } catch (e) {
            expect(e).toBeInstanceOf(Mp4ParseError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('terminates on corrupted ffmpeg output with events or a typed error', () => {
    const data = fixture('h264.mp4').subarray(0, 4000);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: data.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (flips) => {
          const bad = Buffer.from(data);
          for (const [at, v] of flips) bad[at] = v;
          const s = new Fmp4Splitter({ maxBoxBytes: 1 << 20 });
          try {
            s.push(bad);
            s.end();
          } catch (e) {
            expect(e).toBeInstanceOf(Mp4ParseError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('ignores an empty input', () => {
    const s = new Fmp4Splitter();
    expect(s.push(Buffer.alloc(0))).toEqual([]);
    expect(s.end()).toEqual([]);
  });
});

import fc from 'fast-check';
import {
  formatName,
  isObjectName,
  parseKey,
  objectKey,
  parseName,
  RENDITION_NAME,
  type ObjectName,
} from '../../src/packager/names.js';

const first = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
const rest = [...first, '_', '-'];
/** Any rendition name the packager takes (RENDITION_NAME, not `index`). */
const rendition = fc
  .tuple(fc.constantFrom(...first), fc.array(fc.constantFrom(...rest), { maxLength: 31 }))
  .map(([a, b]) => a + b.join(''))
  .filter((r) => r !== 'index');
const msn = fc.integer({ min: 0, max: 999_999_999_999_999 });
const part = fc.integer({ min: 0, max: 999_999 });
const run = fc.integer({ min: 0, max: 999_999_999 });

const objectName: fc.Arbitrary<ObjectName> = fc.oneof(
  fc.constant({ kind: 'multivariant' as const }),
  fc.constant({ kind: 'poster' as const }),
  fc.constant({ kind: 'sprite' as const }),
  fc.constant({ kind: 'thumbnails' as const }),
  rendition.map((r) => ({ kind: 'playlist' as const, rendition: r })),
  rendition.map((r) => ({ kind: 'state' as const, rendition: r })),
  rendition.map((r) => ({ kind: 'init' as const, rendition: r })),
  fc.tuple(rendition, run).map(([r, n]) => ({ kind: 'init' as const, rendition: r, run: n })),
  fc.tuple(rendition, msn).map(([r, m]) => ({ kind: 'segment' as const, rendition: r, msn: m })),
  fc
    .tuple(rendition, msn, part)
    .map(([r, m, p]) => ({ kind: 'part' as const, rendition: r, msn: m, part: p })),
);

describe('object names', () => {
  it('every format parses back to what made it, and is a valid storage name', () => {
    fc.assert(
      fc.property(objectName, (n) => {
        const name = formatName(n);
        expect(isObjectName(name)).toBe(true);
        expect(parseName(name)).toEqual(n);
        expect(parseKey(objectKey('stream-1', name))).toEqual({ assetId: 'stream-1', name });
      }),
      { numRuns: 5000 },
    );
  });

  it('renditions that look like other names still round-trip', () => {
    for (const n of [
      { kind: 'segment', rendition: 'a_1', msn: 2 },
      { kind: 'part', rendition: 'x_init', msn: 3, part: 0 },
      { kind: 'init', rendition: 'x_init' },
      { kind: 'init', rendition: 'r_12', run: 7 },
      { kind: 'playlist', rendition: 'audio' },
      { kind: 'state', rendition: '720p' },
    ] satisfies ObjectName[]) {
      expect(parseName(formatName(n))).toEqual(n);
    }
  });

  it('names no format makes parse to null', () => {
    for (const s of [
      '',
      'index.m3u8x',
      'index.state.json',
      '720p_.m4s',
      '720p_1..m4s',
      '_1.m4s',
      '720P.m3u8',
      '720p_init_.mp4',
      '720p_1.2.3.m4s',
      '../720p.m3u8',
      'poster.png',
    ]) {
      expect(parseName(s)).toBeNull();
    }
    expect(RENDITION_NAME.test('index')).toBe(true); // the alphabet allows it; the formats refuse it
    expect(parseName('index_1.m4s')).toBeNull();
  });
});

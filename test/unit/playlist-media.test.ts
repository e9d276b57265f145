import { describe, expect, it } from '@jest/globals';
import { PlaylistError } from '../../src/packager/playlist/attributes.js';
import {
  parseMediaPlaylist,
  renderMediaPlaylist,
  requiredVersion,
  type MediaPlaylist,
} from '../../src/packager/playlist/media.js';

const lines = (...l: string[]): string => l.join('\n') + '\n';

// text → struct → text, after gohlslib's media_test.go: each case is both the
// parser's input and the renderer's expected output.
const cases: [name: string, text: string, playlist: MediaPlaylist][] = [
  [
    'VOD',
    lines(
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-MEDIA-SEQUENCE:1',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MAP:URI="720p_init.mp4"',
      '#EXTINF:4.00000,',
      '720p_1.m4s',
      '#EXTINF:3.96667,',
      '720p_2.m4s',
      '#EXT-X-ENDLIST',
    ),
    {
      version: 7,
      targetDuration: 4,
      mediaSequence: 1,
      playlistType: 'VOD',
      independentSegments: true,
      map: { uri: '720p_init.mp4' },
      segments: [
        { duration: 4, uri: '720p_1.m4s' },
        { duration: 3.96667, uri: '720p_2.m4s' },
      ],
      endList: true,
    },
  ],
  [
    'LL-HLS live',
    lines(
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.000,PART-HOLD-BACK=1.002,CAN-BLOCK-RELOAD=YES',
      '#EXT-X-PART-INF:PART-TARGET=0.33400',
      '#EXT-X-MEDIA-SEQUENCE:266',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MAP:URI="720p_init.mp4"',
      '#EXT-X-PROGRAM-DATE-TIME:2025-01-02T03:04:05.678Z',
      '#EXTINF:4.00000,',
      '720p_266.m4s',
      '#EXT-X-PART:DURATION=0.33333,URI="720p_267.0.m4s",INDEPENDENT=YES',
      '#EXT-X-PART:DURATION=0.33333,URI="720p_267.1.m4s"',
      '#EXTINF:0.66667,',
      '720p_267.m4s',
      '#EXT-X-PART:DURATION=0.33333,URI="720p_268.0.m4s",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="720p_268.1.m4s"',
      '#EXT-X-RENDITION-REPORT:URI="480p.m3u8",LAST-MSN=268,LAST-PART=0',
      '#EXT-X-RENDITION-REPORT:URI="audio.m3u8",LAST-MSN=268,LAST-PART=1',
    ),
    {
      version: 9,
      targetDuration: 4,
      serverControl: { canSkipUntil: 24, partHoldBack: 1.002, canBlockReload: true },
      partTarget: 0.334,
      mediaSequence: 266,
      independentSegments: true,
      map: { uri: '720p_init.mp4' },
      segments: [
        { duration: 4, uri: '720p_266.m4s', programDateTime: new Date('2025-01-02T03:04:05.678Z') },
        {
          duration: 0.66667,
          uri: '720p_267.m4s',
          parts: [
            { duration: 0.33333, uri: '720p_267.0.m4s', independent: true },
            { duration: 0.33333, uri: '720p_267.1.m4s' },
          ],
        },
      ],
      trailingParts: [{ duration: 0.33333, uri: '720p_268.0.m4s', independent: true }],
      preloadHint: { type: 'PART', uri: '720p_268.1.m4s' },
      renditionReports: [
        { uri: '480p.m3u8', lastMsn: 268, lastPart: 0 },
        { uri: 'audio.m3u8', lastMsn: 268, lastPart: 1 },
      ],
    },
  ],
  [
    'delta update across a discontinuity',
    lines(
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,CAN-BLOCK-RELOAD=YES',
      '#EXT-X-PART-INF:PART-TARGET=0.50000',
      '#EXT-X-MEDIA-SEQUENCE:100',
      '#EXT-X-DISCONTINUITY-SEQUENCE:3',
      '#EXT-X-PLAYLIST-TYPE:EVENT',
      '#EXT-X-MAP:URI="a_init.mp4"',
      '#EXT-X-SKIP:SKIPPED-SEGMENTS=6',
      '#EXTINF:2.00000,',
      'a_106.m4s',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-MAP:URI="b_init.mp4",BYTERANGE="720@0"',
      '#EXT-X-GAP',
      '#EXTINF:2.00000,',
      'a_107.m4s',
      '#EXTINF:1.50000,a title, with a comma',
      '#EXT-X-BYTERANGE:1000@200',
      'a_108.m4s',
      '#EXT-X-PART:DURATION=0.50000,URI="a_109.m4s",BYTERANGE="400@0",GAP=YES',
    ),
    {
      version: 9,
      targetDuration: 2,
      serverControl: { canSkipUntil: 12, holdBack: 6, canBlockReload: true },
      mediaSequence: 100,
      discontinuitySequence: 3,
      playlistType: 'EVENT',
      map: { uri: 'a_init.mp4' },
      skip: { skippedSegments: 6 },
      segments: [
        { duration: 2, uri: 'a_106.m4s' },
        {
          duration: 2,
          uri: 'a_107.m4s',
          discontinuity: true,
          map: { uri: 'b_init.mp4', byteRange: { length: 720, offset: 0 } },
          gap: true,
        },
        {
          duration: 1.5,
          uri: 'a_108.m4s',
          title: 'a title, with a comma',
          byteRange: { length: 1000, offset: 200 },
        },
      ],
      partTarget: 0.5,
      trailingParts: [{ duration: 0.5, uri: 'a_109.m4s', byteRange: { length: 400, offset: 0 }, gap: true }],
    },
  ],
  [
    'delta update that also skips date ranges',
    lines(
      '#EXTM3U',
      '#EXT-X-VERSION:10',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=24.000,CAN-SKIP-DATERANGES=YES',
      '#EXT-X-MEDIA-SEQUENCE:7',
      '#EXT-X-SKIP:SKIPPED-SEGMENTS=3,RECENTLY-REMOVED-DATERANGES="ad1\tad2"',
      '#EXTINF:4.00000,',
      's_10.m4s',
    ),
    {
      version: 10,
      targetDuration: 4,
      serverControl: { canSkipUntil: 24, canSkipDateRanges: true },
      mediaSequence: 7,
      skip: { skippedSegments: 3, recentlyRemovedDateRanges: ['ad1', 'ad2'] },
      segments: [{ duration: 4, uri: 's_10.m4s' }],
    },
  ],
];

describe('media playlist round trip', () => {
  it.each(cases)('%s: text → struct', (_name, text, playlist) => {
    expect(parseMediaPlaylist(text)).toEqual(playlist);
  });

  it.each(cases)('%s: struct → text', (_name, text, playlist) => {
    expect(renderMediaPlaylist(playlist)).toBe(text);
  });

  it.each(cases)('%s: text → struct → text → struct is stable', (_name, text) => {
    const once = parseMediaPlaylist(text);
    expect(parseMediaPlaylist(renderMediaPlaylist(once))).toEqual(once);
  });

  it('accepts CRLF, blank lines, comments and tags it does not know', () => {
    const text =
      '#EXTM3U\r\n# a comment\r\n\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-FUTURE-TAG:X=1\r\n#EXTINF:2,\r\nseg.m4s\r\n';
    expect(parseMediaPlaylist(text)).toEqual({
      version: 1,
      targetDuration: 2,
      mediaSequence: 0,
      segments: [{ duration: 2, uri: 'seg.m4s' }],
    });
  });
});

describe('media playlist MUSTs', () => {
  const base = (): MediaPlaylist => ({
    version: 7,
    targetDuration: 4,
    mediaSequence: 1,
    segments: [{ duration: 4, uri: 's.m4s' }],
  });

  it.each<[string, (p: MediaPlaylist) => void, RegExp]>([
    [
      'a segment longer than the target, rounded',
      (p) => (p.segments[0]!.duration = 4.5),
      /beyond EXT-X-TARGETDURATION 4/,
    ],
    [
      'a version below what the tags need',
      (p) => ((p.version = 3), (p.map = { uri: 'i.mp4' })),
      /EXT-X-VERSION 3 is below the 6/,
    ],
    [
      'parts without PART-INF',
      (p) => (p.trailingParts = [{ duration: 1, uri: 'p.m4s' }]),
      /needs EXT-X-PART-INF/,
    ],
    ['a URI with a line break', (p) => (p.segments[0]!.uri = 's.m4s\n#EXT-X-ENDLIST'), /bad URI/],
    ['a quoted-string with a quote', (p) => (p.map = { uri: 'a"b' }), /quoted-string/],
    ['a negative duration', (p) => (p.segments[0]!.duration = -1), /decimal-floating-point/],
    ['a fractional media sequence', (p) => (p.mediaSequence = 1.5), /decimal-integer/],
  ])('refuses to render %s', (_name, mutate, message) => {
    const p = base();
    mutate(p);
    expect(() => renderMediaPlaylist(p)).toThrow(message);
  });

  it('accepts a segment that rounds down to the target', () => {
    const p = base();
    p.segments[0]!.duration = 4.49;
    expect(() => renderMediaPlaylist(p)).not.toThrow();
  });

  it.each<[string, Partial<MediaPlaylist>, number]>([
    ['no segments', { segments: [] }, 1],
    ['EXTINF, always written as decimal-floating-point', {}, 3],
    ['EXT-X-BYTERANGE', { segments: [{ duration: 3, uri: 's', byteRange: { length: 1 } }] }, 4],
    ['EXT-X-MAP', { map: { uri: 'i.mp4' } }, 6],
    ['EXT-X-SKIP', { skip: { skippedSegments: 1 } }, 9],
    ['RECENTLY-REMOVED-DATERANGES', { skip: { skippedSegments: 1, recentlyRemovedDateRanges: ['x'] } }, 10],
  ])('requiredVersion: %s → %i', (_name, patch, v) => {
    expect(requiredVersion({ ...base(), ...patch })).toBe(v);
  });

  it.each([
    ['no #EXTM3U', '#EXT-X-TARGETDURATION:4\n', /#EXTM3U/],
    [
      'two EXT-X-VERSION tags',
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n',
      /more than one/,
    ],
    ['no EXT-X-TARGETDURATION', '#EXTM3U\n#EXTINF:4,\ns\n', /TARGETDURATION/],
    ['a URI without EXTINF', '#EXTM3U\n#EXT-X-TARGETDURATION:4\ns.m4s\n', /without EXTINF/],
    ['an EXTINF without URI', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n', /without a URI/],
    ['an attribute given twice', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="a",URI="b"\n', /twice/],
    [
      'an unterminated quoted-string',
      '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="a\n',
      /unterminated/,
    ],
    ['a part without DURATION', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PART:URI="a"\n', /needs DURATION/],
  ])('refuses to parse %s', (_name, text, message) => {
    expect(() => parseMediaPlaylist(text)).toThrow(PlaylistError);
    expect(() => parseMediaPlaylist(text)).toThrow(message);
  });
});

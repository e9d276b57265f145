import { describe, expect, it } from '@jest/globals';
import { PlaylistError } from '../../src/packager/playlist/attributes.js';
import {
  parseMultivariantPlaylist,
  renderMultivariantPlaylist,
  type MultivariantPlaylist,
} from '../../src/packager/playlist/multivariant.js';

const lines = (...l: string[]): string => l.join('\n') + '\n';

const cases: [name: string, text: string, playlist: MultivariantPlaylist][] = [
  [
    'a video ladder with one audio rendition',
    lines(
      '#EXTM3U',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2100000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"',
      '720p.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=29.970,AUDIO="audio"',
      '360p.m3u8',
    ),
    {
      independentSegments: true,
      renditions: [
        {
          type: 'AUDIO',
          groupId: 'audio',
          name: 'Audio',
          language: 'und',
          default: true,
          autoselect: true,
          channels: '2',
          uri: 'audio.m3u8',
        },
      ],
      variants: [
        {
          bandwidth: 2500000,
          averageBandwidth: 2100000,
          codecs: ['avc1.64001f', 'mp4a.40.2'],
          resolution: { width: 1280, height: 720 },
          frameRate: 30,
          audio: 'audio',
          uri: '720p.m3u8',
        },
        {
          bandwidth: 900000,
          averageBandwidth: 800000,
          codecs: ['avc1.64001e', 'mp4a.40.2'],
          resolution: { width: 640, height: 360 },
          frameRate: 29.97,
          audio: 'audio',
          uri: '360p.m3u8',
        },
      ],
    },
  ],
  [
    'audio only',
    lines(
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS="mp4a.40.2"',
      'audio.m3u8',
    ),
    {
      version: 7,
      renditions: [],
      variants: [{ bandwidth: 140000, codecs: ['mp4a.40.2'], uri: 'audio.m3u8' }],
    },
  ],
  [
    'two audio languages and subtitles',
    lines(
      '#EXTM3U',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="en.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="Deutsch, Stereo",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="de.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",DEFAULT=NO,URI="subs.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=1000000,AUDIO="aac"',
      'v.m3u8',
    ),
    {
      renditions: [
        {
          type: 'AUDIO',
          groupId: 'aac',
          name: 'English',
          language: 'en',
          default: true,
          autoselect: true,
          channels: '2',
          uri: 'en.m3u8',
        },
        {
          type: 'AUDIO',
          groupId: 'aac',
          name: 'Deutsch, Stereo',
          language: 'de',
          default: false,
          autoselect: true,
          channels: '2',
          uri: 'de.m3u8',
        },
        { type: 'SUBTITLES', groupId: 'subs', name: 'English', default: false, uri: 'subs.m3u8' },
      ],
      variants: [{ bandwidth: 1000000, audio: 'aac', uri: 'v.m3u8' }],
    },
  ],
];

describe('multivariant playlist round trip', () => {
  it.each(cases)('%s: text → struct', (_name, text, playlist) => {
    expect(parseMultivariantPlaylist(text)).toEqual(playlist);
  });

  it.each(cases)('%s: struct → text', (_name, text, playlist) => {
    expect(renderMultivariantPlaylist(playlist)).toBe(text);
  });
});

describe('multivariant playlist MUSTs', () => {
  const base = (): MultivariantPlaylist => ({
    renditions: [
      { type: 'AUDIO', groupId: 'audio', name: 'Audio', default: true, autoselect: true, uri: 'a.m3u8' },
    ],
    variants: [{ bandwidth: 1, audio: 'audio', uri: 'v.m3u8' }],
  });

  it.each<[string, (p: MultivariantPlaylist) => void, RegExp]>([
    [
      'an AUDIO group nobody declares',
      (p) => (p.variants[0]!.audio = 'other'),
      /no AUDIO rendition in group other/,
    ],
    ['DEFAULT=YES with AUTOSELECT=NO', (p) => (p.renditions[0]!.autoselect = false), /AUTOSELECT=YES/],
    ['CLOSED-CAPTIONS with a URI', (p) => (p.renditions[0]!.type = 'CLOSED-CAPTIONS'), /cannot have a URI/],
    ['a NAME holding a quote', (p) => (p.renditions[0]!.name = 'say "hi"'), /quoted-string/],
    ['a URI holding a line break', (p) => (p.variants[0]!.uri = 'v.m3u8\n#EXT-X-STREAM-INF'), /bad URI/],
  ])('refuses to render %s', (_name, mutate, message) => {
    const p = base();
    mutate(p);
    expect(() => renderMultivariantPlaylist(p)).toThrow(PlaylistError);
    expect(() => renderMultivariantPlaylist(p)).toThrow(message);
  });

  it('refuses to parse a STREAM-INF without BANDWIDTH or URI', () => {
    expect(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:CODECS="x"\nv.m3u8\n')).toThrow(
      /needs BANDWIDTH/,
    );
    expect(() => parseMultivariantPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n')).toThrow(
      /without a URI/,
    );
  });
});

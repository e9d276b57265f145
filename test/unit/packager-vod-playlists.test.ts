import { describe, expect, it } from '@jest/globals';
import { averageBitrate, peakBitrate } from '../../src/packager/bandwidth.js';
import type { TrackInfo } from '../../src/packager/mp4/init.js';
import { renderMediaPlaylist } from '../../src/packager/playlist/media.js';
import { renderMultivariantPlaylist } from '../../src/packager/playlist/multivariant.js';
import type { SegmentReady } from '../../src/packager/segmenter.js';
import {
  summarize,
  targetDurationOf,
  vodMediaPlaylist,
  vodMultivariantPlaylist,
  type RenditionRecord,
} from '../../src/packager/vod/playlists.js';

const seg = (
  msn: number,
  duration: number,
  byteLength: number,
  name = 'v',
  independent = true,
): SegmentReady => ({
  type: 'segment',
  msn,
  name: `${name}_${msn}.m4s`,
  startTime: 0,
  duration,
  independent,
  byteLength,
  parts: [],
});

const video = (
  name: string,
  codec: string,
  w: number,
  h: number,
  bytesPerSecond: number,
): RenditionRecord => ({
  spec: { name, kind: 'video', width: w, height: h, fps: 30, nominalBitrateKbps: 1 },
  track: {
    trackId: 1,
    timescale: 15360,
    handler: 'vide',
    kind: 'video',
    sampleEntry: 'avc1',
    codec,
    width: w,
    height: h,
    defaults: { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 },
  } as TrackInfo,
  segments: [
    seg(1, 4, 4 * bytesPerSecond, name),
    seg(2, 4, 6 * bytesPerSecond, name),
    seg(3, 2, 2 * bytesPerSecond, name),
  ],
  samples: 300,
});
const audio: RenditionRecord = {
  spec: { name: 'audio', kind: 'audio', nominalBitrateKbps: 128 },
  track: {
    trackId: 1,
    timescale: 48000,
    handler: 'soun',
    kind: 'audio',
    sampleEntry: 'mp4a',
    codec: 'mp4a.40.2',
    channels: 2,
    sampleRate: 48000,
    defaults: { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 },
  },
  segments: [seg(1, 4.011, 8000, 'audio'), seg(2, 3.989, 8000, 'audio'), seg(3, 2, 4000, 'audio')],
  samples: 0,
};

describe('bit rates', () => {
  it('peak: the richest window of 0.5 to 1.5 target durations', () => {
    // 1 s segments, target 2: windows of 1, 2 and 3 segments count.
    const segs = [1000, 1000, 4000, 1000, 1000].map((b) => ({ duration: 1, byteLength: b }));
    expect(peakBitrate(segs, 2)).toBe(4000 * 8);
    // Target 4: a single 1 s segment is below 0.5 × 4, so the 2 s windows set the peak.
    expect(peakBitrate(segs, 4)).toBe(((4000 + 1000) * 8) / 2);
  });

  it('peak: a single overlong segment still counts', () => {
    expect(
      peakBitrate(
        [
          { duration: 10, byteLength: 100_000 },
          { duration: 2, byteLength: 1000 },
        ],
        4,
      ),
    ).toBe(80_000);
  });

  it('peak: falls back on the average when no window qualifies', () => {
    expect(peakBitrate([{ duration: 0.5, byteLength: 1000 }], 4)).toBe(16_000);
    expect(peakBitrate([], 4)).toBe(0);
  });

  it('average: all bits over all seconds', () => {
    expect(
      averageBitrate([
        { duration: 3, byteLength: 3000 },
        { duration: 1, byteLength: 5000 },
      ]),
    ).toBe(16_000);
  });

  it.each([
    [[4, 4, 2], 4],
    [[4.0164, 3.98], 5],
    [[4.0000000001], 4],
    [[0.4], 1],
  ])('target duration of %j is %i', (durations, target) => {
    expect(targetDurationOf(durations.map((d) => ({ duration: d })))).toBe(target);
  });
});

describe('VOD playlists', () => {
  it('media playlist: every segment, the init segment, ENDLIST', () => {
    expect(renderMediaPlaylist(vodMediaPlaylist(video('720p', 'avc1.64001f', 1280, 720, 1000)))).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-MEDIA-SEQUENCE:1',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="720p_init.mp4"',
        '#EXTINF:4.00000,',
        '720p_1.m4s',
        '#EXTINF:4.00000,',
        '720p_2.m4s',
        '#EXTINF:2.00000,',
        '720p_3.m4s',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
  });

  it('claims independent segments only when every segment starts with a keyframe', () => {
    const r = video('720p', 'avc1.64001f', 1280, 720, 1000);
    r.segments[1]!.independent = false;
    expect(vodMediaPlaylist(r).independentSegments).toBe(false);
    expect(vodMultivariantPlaylist([r]).independentSegments).toBe(false);
  });

  it('multivariant: highest first, audio added to every variant, measured figures', () => {
    const low = video('360p', 'avc1.64001e', 640, 360, 50_000);
    const high = video('720p', 'avc1.64001f', 1280, 720, 200_000);
    const text = renderMultivariantPlaylist(
      vodMultivariantPlaylist([low, high, audio], { audioLanguage: 'en' }),
    );
    // peak: 720p segment 2 is 6 × 200 kB in 4 s = 2.4 Mb/s; audio 8000 B in 3.989 s.
    const audioPeak = Math.round((8000 * 8) / 3.989);
    const audioAvg = Math.round((20000 * 8) / 10);
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Audio",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio.m3u8"',
        `#EXT-X-STREAM-INF:BANDWIDTH=${2_400_000 + audioPeak},AVERAGE-BANDWIDTH=${1_920_000 + audioAvg},CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio",CLOSED-CAPTIONS=NONE`,
        '720p.m3u8',
        `#EXT-X-STREAM-INF:BANDWIDTH=${600_000 + audioPeak},AVERAGE-BANDWIDTH=${480_000 + audioAvg},CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="audio",CLOSED-CAPTIONS=NONE`,
        '360p.m3u8',
        '',
      ].join('\n'),
    );
  });

  it('multivariant: audio only is one variant without a rendition group', () => {
    const p = vodMultivariantPlaylist([audio]);
    expect(p.renditions).toEqual([]);
    expect(p.variants).toEqual([
      {
        bandwidth: Math.round((8000 * 8) / 3.989),
        averageBandwidth: 16000,
        codecs: ['mp4a.40.2'],
        closedCaptions: 'NONE',
        uri: 'audio.m3u8',
      },
    ]);
  });

  it('measures the frame rate when the spec has none', () => {
    const r = video('720p', 'avc1.64001f', 1280, 720, 1000);
    delete r.spec.fps;
    expect(summarize(r).frameRate).toBe(30);
  });
});

import { describe, expect, it } from '@jest/globals';
import { liveMultivariant, type LiveVariantInput } from '../../src/packager/live/multivariant.js';
import type { TrackInfo } from '../../src/packager/mp4/init.js';
import { renderMultivariantPlaylist } from '../../src/packager/playlist/multivariant.js';
import { checkMultivariantPlaylist } from '../helpers/llhls-check.js';

const defaults = { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 };
const video = (codec: string, width: number, height: number): TrackInfo => ({
  trackId: 1,
  timescale: 15360,
  handler: 'vide',
  kind: 'video',
  sampleEntry: 'avc1',
  codec,
  width,
  height,
  defaults,
});
const audio: TrackInfo = {
  trackId: 1,
  timescale: 48000,
  handler: 'soun',
  kind: 'audio',
  sampleEntry: 'mp4a',
  codec: 'mp4a.40.2',
  channels: 2,
  sampleRate: 48000,
  defaults,
};

describe('live multivariant playlist', () => {
  const inputs = (
    segments: { duration: number; byteLength: number }[],
    measuredPeakBps = 0,
  ): LiveVariantInput[] => [
    {
      spec: {
        name: '180p',
        kind: 'video',
        width: 320,
        height: 180,
        nominalBitrateKbps: 200,
        peakBitrateKbps: 220,
      },
      track: video('avc1.42c00d', 320, 180),
      frameSeconds: 1 / 25,
      segments,
      measuredPeakBps: 0,
    },
    {
      spec: {
        name: '360p',
        kind: 'video',
        width: 640,
        height: 360,
        fps: 30,
        nominalBitrateKbps: 800,
        peakBitrateKbps: 880,
      },
      track: video('avc1.64001e', 640, 360),
      segments,
      measuredPeakBps,
    },
    {
      spec: { name: 'audio', kind: 'audio', nominalBitrateKbps: 64 },
      track: audio,
      segments: [],
      measuredPeakBps: 0,
    },
  ];

  it('declares the configured peaks from the start, highest first, with codecs, sizes, frame rates, no captions and the audio group', () => {
    const p = liveMultivariant(inputs([]), { audioLanguage: 'en', audioName: 'English' });
    const text = renderMultivariantPlaylist(p);
    checkMultivariantPlaylist(text, { video: ['180p', '360p'], audio: 'audio' });
    expect(p.variants.map((v) => [v.uri, v.bandwidth, v.averageBandwidth, v.frameRate])).toEqual([
      ['360p.m3u8', 944_000, 864_000, 30],
      ['180p.m3u8', 284_000, 264_000, 25],
    ]);
    expect(text).toContain(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio.m3u8"',
    );
    expect(text).toContain('CODECS="avc1.64001e,mp4a.40.2"');
    expect(text.match(/CLOSED-CAPTIONS=NONE/g)).toHaveLength(2);
  });

  it('raises BANDWIDTH to a measured peak above the configured one, never below it, and measures the average', () => {
    const segs = [{ duration: 1, byteLength: 50_000 }];
    const p = liveMultivariant(inputs(segs, 1_500_000));
    // 360p: measured peak 1.5 Mb/s + audio 64 kb/s; averages measured (400 kb/s) + audio nominal.
    expect(p.variants[0]).toMatchObject({ bandwidth: 1_564_000, averageBandwidth: 464_000 });
    // 180p measured nothing above its 220 kb/s cap: stays there.
    expect(p.variants[1]).toMatchObject({ bandwidth: 284_000, averageBandwidth: 464_000 });
  });
});

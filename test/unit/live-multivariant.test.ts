import { describe, expect, it } from '@jest/globals';
import {
  MEASURE_AFTER_SEGMENTS,
  liveMultivariant,
  type LiveVariantInput,
} from '../../src/packager/live/multivariant.js';
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
  const inputs = (segments: { duration: number; byteLength: number }[]): LiveVariantInput[] => [
    {
      spec: { name: '180p', kind: 'video', width: 320, height: 180, nominalBitrateKbps: 200 },
      track: video('avc1.42c00d', 320, 180),
      frameSeconds: 1 / 25,
      segments,
      targetDuration: 1,
    },
    {
      spec: { name: '360p', kind: 'video', width: 640, height: 360, fps: 30, nominalBitrateKbps: 800 },
      track: video('avc1.64001e', 640, 360),
      segments,
      targetDuration: 1,
    },
    {
      spec: { name: 'audio', kind: 'audio', nominalBitrateKbps: 64 },
      track: audio,
      segments,
      targetDuration: 1,
    },
  ];

  it('starts from the nominal bit rates, highest first, with codecs, sizes, frame rates and the audio group', () => {
    const p = liveMultivariant(inputs([]), { audioLanguage: 'en', audioName: 'English' });
    const text = renderMultivariantPlaylist(p);
    checkMultivariantPlaylist(text, { video: ['180p', '360p'], audio: 'audio' });
    expect(p.variants.map((v) => [v.uri, v.bandwidth, v.averageBandwidth, v.frameRate])).toEqual([
      ['360p.m3u8', 1_296_000, 864_000, 30],
      ['180p.m3u8', 396_000, 264_000, 25],
    ]);
    expect(text).toContain(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio.m3u8"',
    );
    expect(text).toContain('CODECS="avc1.64001e,mp4a.40.2"');
  });

  it('uses measured bit rates once enough segments exist', () => {
    const segs = Array.from({ length: MEASURE_AFTER_SEGMENTS }, () => ({ duration: 1, byteLength: 50_000 }));
    const p = liveMultivariant(inputs(segs));
    // 400 kb/s per rendition, video + audio.
    expect(p.variants[0]).toMatchObject({ bandwidth: 800_000, averageBandwidth: 800_000 });
  });
});

import { describe, expect, it } from '@jest/globals';
import { nextPartUri } from '../../src/packager/live/playlist.js';
import { Segmenter } from '../../src/packager/segmenter.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

describe('the preload hint at the end of a segment', () => {
  it('Segmenter.nextStartsSegment foresees the cut the next independent fragment makes', () => {
    const s = new Segmenter({ rendition: 'v', segmentSeconds: 1, kind: 'video' });
    const ts = 15360;
    const frag = (i: number) => ({
      decodeTime: i * 3072,
      duration: 3072,
      timescale: ts,
      keyframe: i % 5 === 0,
      byteLength: 1,
    });
    expect(s.nextStartsSegment(3072)).toBe(false); // nothing open
    const seen: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      s.push(frag(i));
      seen.push(s.nextStartsSegment(3072));
    }
    // 0.2 s parts, 1 s segments: after the 5th part of each segment the next one starts a segment.
    expect(seen).toEqual([false, false, false, false, true, false, false, false, false, true]);
  });

  it('names the next segment’s first part when the open segment is about to end', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.parts(3);
    expect(nextPartUri(f.t.state)).toBe('v_1.3.m4s');
    f.t.addPart({
      msn: 1,
      partIndex: 3,
      name: 'v_1.3.m4s',
      duration: 0.25,
      independent: false,
      byteLength: 1,
      startTime: 0.75,
      lastOfSegment: true,
    });
    expect(f.t.state.open?.endsAfterThisPart).toBe(true);
    expect(nextPartUri(f.t.state)).toBe('v_2.0.m4s');
  });
});

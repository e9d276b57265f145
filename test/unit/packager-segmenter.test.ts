import { describe, expect, it } from '@jest/globals';
import {
  Segmenter,
  type FragmentTimes,
  type PartReady,
  type SegmentReady,
  type SegmenterEvent,
} from '../../src/packager/segmenter.js';

/** Video fragments as ffmpeg cuts them: `perFragment` frames each, a new one at every keyframe. */
function videoFragments(o: {
  seconds: number;
  fps: number;
  gopFrames: number;
  perFragment: number;
  timescale?: number;
}): FragmentTimes[] {
  const ts = o.timescale ?? 15360;
  const tick = ts / o.fps;
  const frames = Math.round(o.seconds * o.fps);
  const out: FragmentTimes[] = [];
  let f = 0;
  while (f < frames) {
    const toGop = o.gopFrames - (f % o.gopFrames);
    const n = Math.min(o.perFragment, toGop, frames - f);
    out.push({
      decodeTime: f * tick,
      duration: n * tick,
      timescale: ts,
      keyframe: f % o.gopFrames === 0,
      byteLength: n * 1000,
    });
    f += n;
  }
  return out;
}

/** AAC at 48 kHz: 1024-sample frames, `perFragment` frames each, every one a sync sample. */
function audioFragments(seconds: number, perFragment = 15, startTicks = 0): FragmentTimes[] {
  const out: FragmentTimes[] = [];
  for (let t = startTicks; t + perFragment * 1024 <= startTicks + seconds * 48000; t += perFragment * 1024) {
    out.push({
      decodeTime: t,
      duration: perFragment * 1024,
      timescale: 48000,
      keyframe: false,
      byteLength: 300,
    });
  }
  return out;
}

function run(seg: Segmenter, fragments: FragmentTimes[]): SegmenterEvent[] {
  return [...fragments.flatMap((f) => seg.push(f)), ...seg.finish()];
}
const segmentsOf = (ev: SegmenterEvent[]): SegmentReady[] =>
  ev.filter((e): e is SegmentReady => e.type === 'segment');

describe('Segmenter', () => {
  it('cuts the first segment at firstSegmentSeconds, then every segmentSeconds, video and audio alike', () => {
    const video = new Segmenter({ rendition: 'v', segmentSeconds: 4, firstSegmentSeconds: 2, kind: 'video' });
    const audio = new Segmenter({ rendition: 'a', segmentSeconds: 4, firstSegmentSeconds: 2, kind: 'audio' });
    const v = segmentsOf(
      run(video, videoFragments({ seconds: 11, fps: 30, gopFrames: 60, perFragment: 10 })),
    );
    const a = segmentsOf(run(audio, audioFragments(11)));
    expect(v.map((s) => [s.startTime, s.duration])).toEqual([
      [0, 2],
      [2, 4],
      [6, 4],
      [10, 1],
    ]);
    // Audio cuts at the fragment edges nearest the same instants.
    a.slice(0, 3).forEach((s, i) =>
      expect(Math.abs(s.startTime + s.duration - [2, 6, 10][i]!)).toBeLessThan(0.17),
    );
  });

  it('cuts 4 s segments of 1/3 s parts from 2 s GOPs', () => {
    const seg = new Segmenter({ rendition: '720p', segmentSeconds: 4, kind: 'video' });
    const events = run(seg, videoFragments({ seconds: 10, fps: 30, gopFrames: 60, perFragment: 10 }));
    const segments = segmentsOf(events);
    expect(
      segments.map((s) => [s.msn, s.name, s.startTime, s.duration, s.parts.length, s.independent]),
    ).toEqual([
      [1, '720p_1.m4s', 0, 4, 12, true],
      [2, '720p_2.m4s', 4, 4, 12, true],
      [3, '720p_3.m4s', 8, 2, 6, true],
    ]);
    expect(segments[0]!.byteLength).toBe(120 * 1000);
    const parts = events.filter((e): e is PartReady => e.type === 'part');
    expect(parts).toHaveLength(30);
    expect(parts[0]).toEqual({
      type: 'part',
      msn: 1,
      partIndex: 0,
      name: '720p_1.0.m4s',
      duration: 1 / 3,
      independent: true,
      byteLength: 10000,
    });
    expect(parts[1]?.independent).toBe(false);
    // The GOP start inside segment 1 is an independent part too (LL-HLS INDEPENDENT=YES).
    expect(parts[6]).toMatchObject({ msn: 1, partIndex: 6, independent: true });
    expect(events.at(-1)).toEqual({ type: 'end', lastMsn: 3 });
  });

  it('announces a segment before the first part of the next one', () => {
    const seg = new Segmenter({ rendition: 'v', segmentSeconds: 1, kind: 'video' });
    const frags = videoFragments({ seconds: 2, fps: 30, gopFrames: 30, perFragment: 10 });
    frags.slice(0, 3).forEach((f) => seg.push(f));
    expect(seg.push(frags[3]!).map((e) => [e.type, 'name' in e ? e.name : ''])).toEqual([
      ['segment', 'v_1.m4s'],
      ['part', 'v_2.0.m4s'],
    ]);
  });

  it('cuts audio at the fragment edge nearest each boundary, so it lines up with video', () => {
    const video = segmentsOf(
      run(
        new Segmenter({ rendition: 'v', segmentSeconds: 4, kind: 'video' }),
        videoFragments({ seconds: 20, fps: 30, gopFrames: 60, perFragment: 10 }),
      ),
    );
    const audio = segmentsOf(
      run(new Segmenter({ rendition: 'audio', segmentSeconds: 4, kind: 'audio' }), audioFragments(20)),
    );
    expect(audio).toHaveLength(video.length);
    const fragment = (15 * 1024) / 48000;
    audio.forEach((a, i) => {
      expect(Math.abs(a.startTime - video[i]!.startTime)).toBeLessThanOrEqual(fragment / 2 + 1e-9);
      expect(a.independent).toBe(true);
    });
  });

  it('keeps the grid of the media timeline when the stream does not start at 0', () => {
    const seg = new Segmenter({ rendition: 'audio', segmentSeconds: 2, kind: 'audio' });
    const starts = segmentsOf(run(seg, audioFragments(7, 5, 48000 * 101))).map((s) => s.startTime);
    expect(starts[0]).toBe(101);
    for (const s of starts.slice(1)) expect(Math.abs(s - Math.round(s / 2) * 2)).toBeLessThan(0.06);
  });

  it('waits for a keyframe: 3 s GOPs with 4 s segments cut at 6, 9 and 12 s', () => {
    const seg = new Segmenter({ rendition: 'v', segmentSeconds: 4, kind: 'video' });
    const starts = segmentsOf(
      run(seg, videoFragments({ seconds: 14, fps: 30, gopFrames: 90, perFragment: 10 })),
    ).map((s) => s.startTime);
    expect(starts).toEqual([0, 6, 9, 12]);
  });

  it('cuts without a keyframe at maxSegmentSeconds, marking the segment dependent', () => {
    const seg = new Segmenter({ rendition: 'v', segmentSeconds: 2, kind: 'video', maxSegmentSeconds: 3 });
    const frags = videoFragments({ seconds: 8, fps: 30, gopFrames: 1000, perFragment: 15 });
    const segments = segmentsOf(run(seg, frags));
    expect(segments.map((s) => [s.duration, s.independent])).toEqual([
      [3, true],
      [3, false],
      [2, false],
    ]);
  });

  it('starts at firstMsn', () => {
    const seg = new Segmenter({ rendition: 'v', segmentSeconds: 1, kind: 'video', firstMsn: 41 });
    const segments = segmentsOf(
      run(seg, videoFragments({ seconds: 2, fps: 30, gopFrames: 30, perFragment: 10 })),
    );
    expect(segments.map((s) => s.name)).toEqual(['v_41.m4s', 'v_42.m4s']);
  });

  it('ends an empty stream with just the end event, once', () => {
    const seg = new Segmenter({ rendition: 'v', segmentSeconds: 4, kind: 'video' });
    expect(seg.finish()).toEqual([{ type: 'end', lastMsn: 0 }]);
    expect(seg.finish()).toEqual([]);
    expect(() =>
      seg.push({ decodeTime: 0, duration: 1, timescale: 1, keyframe: true, byteLength: 1 }),
    ).toThrow(/after finish/);
  });

  it('refuses a timescale change and a bad segment length', () => {
    const seg = new Segmenter({ rendition: 'v', segmentSeconds: 4, kind: 'video' });
    seg.push({ decodeTime: 0, duration: 10, timescale: 1000, keyframe: true, byteLength: 1 });
    expect(() =>
      seg.push({ decodeTime: 10, duration: 10, timescale: 90000, keyframe: true, byteLength: 1 }),
    ).toThrow(/timescale/);
    expect(() => new Segmenter({ rendition: 'v', segmentSeconds: 0, kind: 'video' })).toThrow(RangeError);
  });
});

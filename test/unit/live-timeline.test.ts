import { describe, expect, it } from '@jest/globals';
import { LiveTimeline } from '../../src/packager/live/timeline.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

describe('LiveTimeline', () => {
  it('numbers segments from 1 and opens the window at the first part', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.parts(1);
    const s = f.t.state;
    expect(s.mediaSequence).toBe(1);
    expect(s.segments).toEqual([]);
    expect(s.open).toMatchObject({ msn: 1, map: 'v_init_1.mp4', pdtMs: 1_700_000_000_000 });
    expect(s.open?.discontinuity).toBeUndefined();
    f.parts(4);
    expect(f.t.state.segments.map((x) => x.msn)).toEqual([1]);
    expect(f.t.state.open?.msn).toBe(2);
    expect(f.t.state.open?.pdtMs).toBe(1_700_000_001_000);
  });

  it('slides a window of windowSegments complete segments', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(10);
    const s = f.t.state;
    expect(s.segments.map((x) => x.msn)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(s.mediaSequence).toBe(5);
    expect(s.nextMsn).toBe(11);
  });

  it('refuses a window under six segments', () => {
    expect(() => new TimelineFeed({ windowSegments: 5 })).toThrow(RangeError);
  });

  it('lists parts only for segments that end within three target durations of the end', () => {
    const f = new TimelineFeed({ targetDuration: 1, windowSegments: 8 });
    f.beginRun();
    f.segments(8);
    f.parts(2);
    const withParts = f.t.state.segments.filter((x) => x.parts).map((x) => x.msn);
    // Open: 0.5 s; segment 8 ends 0.5 s from the end, 7 at 1.5, 6 at 2.5, 5 at 3.5 (dropped).
    expect(withParts).toEqual([6, 7, 8]);
    expect(f.t.state.segments.every((x) => x.partCount === 4)).toBe(true);
  });

  it('starts a later run with a discontinuity, its own map and its own PROGRAM-DATE-TIME anchor', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(2);
    f.beginRun(undefined, 1_800_000_000_000);
    f.parts(5);
    const s = f.t.state;
    expect(s.segments.map((x) => [x.msn, x.discontinuity ?? false, x.map])).toEqual([
      [1, false, 'v_init_1.mp4'],
      [2, false, 'v_init_1.mp4'],
      [3, true, 'v_init_2.mp4'],
    ]);
    expect(s.segments[2]!.pdtMs).toBe(1_800_000_000_000);
    expect(s.open?.discontinuity).toBeUndefined();
  });

  it('counts EXT-X-DISCONTINUITY-SEQUENCE up when a discontinuity slides out', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(2);
    f.beginRun();
    f.segments(2);
    f.beginRun();
    f.segments(6);
    // Segments 1..10; discontinuities at 3 and 5; window 5..10.
    let s = f.t.state;
    expect(s.mediaSequence).toBe(5);
    expect(s.discontinuitySequence).toBe(1);
    expect(s.segments[0]).toMatchObject({ msn: 5, discontinuity: true });
    f.segments(1);
    s = f.t.state;
    expect(s.mediaSequence).toBe(6);
    expect(s.discontinuitySequence).toBe(2);
  });

  it('deletes segments, their parts and unused init segments one window after they left', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(2);
    f.beginRun();
    f.segments(11);
    // 13 segments: window 8..13, grace 2..7, msn 1 deleted (it left when 7 arrived... gone at 13).
    expect(f.deleted).toEqual(['v_1.m4s', 'v_1.0.m4s', 'v_1.1.m4s', 'v_1.2.m4s', 'v_1.3.m4s']);
    f.segments(1);
    // msn 2 goes, and with it the last segment of run 1: its init segment too.
    expect(f.deleted.slice(5)).toEqual([
      'v_2.m4s',
      'v_2.0.m4s',
      'v_2.1.m4s',
      'v_2.2.m4s',
      'v_2.3.m4s',
      'v_init_1.mp4',
    ]);
    expect(f.deleted).not.toContain('v_init_2.mp4');
  });

  it('pads a run that starts ahead with EXT-X-GAP segments, so renditions stay aligned', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(2);
    f.beginRun(5, 1_800_000_000_000, (msn) => (msn === 3 ? 0.9 : 1.1));
    f.parts(1);
    const s = f.t.state;
    expect(s.segments.map((x) => [x.msn, x.gap ?? false, x.duration])).toEqual([
      [1, false, 1],
      [2, false, 1],
      [3, true, 0.9],
      [4, true, 1],
    ]);
    expect(s.open).toMatchObject({ msn: 5, discontinuity: true, map: 'v_init_2.mp4' });
  });

  it('starts the window afresh instead of padding a whole window of gaps', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(2);
    f.beginRun(20);
    f.parts(1);
    expect(f.t.state.segments).toEqual([]);
    expect(f.t.state.mediaSequence).toBe(20);
    expect(f.t.state.open).toMatchObject({ msn: 20, discontinuity: true });
  });

  it('never lets a run start before the next msn', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(3);
    expect(() => f.t.beginRun({ map: 'x_init_9.mp4', epochMs: 0, firstMsn: 2 })).toThrow(
      /before the next msn/,
    );
  });

  it('raises PART-TARGET when a longer part comes, and says so', () => {
    const f = new TimelineFeed({ partSeconds: 0.2, partTarget: 0.2 });
    f.beginRun();
    f.parts(1, 0.2);
    const fx = f.t.addPart({
      msn: 1,
      partIndex: 1,
      name: 'v_1.1.m4s',
      duration: 0.2134,
      independent: false,
      byteLength: 1,
      startTime: 0.2,
    });
    expect(fx.partTargetRaisedTo).toBe(0.214);
    expect(f.t.state.partTarget).toBe(0.214);
  });

  it('turns an open segment that cannot be completed into a gap segment', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(1);
    f.parts(2);
    f.t.dropOpen();
    expect(f.t.state.segments[1]).toMatchObject({ msn: 2, gap: true, partCount: 2, duration: 0.5 });
    expect(f.t.nextMsn).toBe(3);
  });

  it('ends: no open segment allowed, idempotent', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.parts(2);
    expect(() => f.t.end()).toThrow(/open/);
    f.close();
    f.t.end();
    f.t.end();
    expect(f.t.state.ended).toBe(true);
    expect(() => f.t.beginRun({ map: 'v_init_9.mp4', epochMs: 0, firstMsn: 2 })).toThrow(/after the end/);
  });

  it('restarts the window for a new session of an ended stream, numbering on', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(3);
    f.t.end();
    const resumed = new LiveTimeline(
      { rendition: 'v', targetDuration: 1, partTarget: 0.25, windowSegments: 6 },
      { state: structuredClone(f.t.state) },
    );
    resumed.restartWindow({ targetDuration: 2, partTarget: 0.3 });
    expect(resumed.state).toMatchObject({
      segments: [],
      mediaSequence: 4,
      nextMsn: 4,
      ended: false,
      targetDuration: 2,
      partTarget: 0.3,
    });
    expect(resumed.retired.map((r) => r.msn)).toEqual([1, 2, 3]);
    resumed.beginRun({ map: 'v_init_2.mp4', epochMs: 5, firstMsn: 4 });
    resumed.addPart({
      msn: 4,
      partIndex: 0,
      name: 'v_4.0.m4s',
      duration: 0.3,
      independent: true,
      byteLength: 1,
      startTime: 0,
    });
    expect(resumed.state.open).toMatchObject({ msn: 4, discontinuity: true });
  });

  it('bumps version on every change', () => {
    const f = new TimelineFeed();
    f.beginRun();
    const v0 = f.t.state.version;
    f.parts(1);
    expect(f.t.state.version).toBeGreaterThan(v0);
  });
});

import { describe, expect, it } from '@jest/globals';
import { renderLivePlaylist } from '../../src/packager/live/playlist.js';
import { initIndexOf, resumeFromPlaylist } from '../../src/packager/live/resume.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

describe('resuming a live rendition from its stored playlist', () => {
  it('reads back the window, discontinuities, gaps, maps, dates and the open segment', () => {
    const f = new TimelineFeed({ windowSegments: 8 });
    f.beginRun();
    f.segments(3);
    f.beginRun(5, 1_800_000_000_000);
    f.segments(4);
    f.beginRun(undefined, 1_900_000_000_000);
    f.parts(2);
    const s = f.t.state;
    const r = resumeFromPlaylist('v', renderLivePlaylist(s), { windowSegments: 8, now: 0 });
    const pick = (x: typeof s) =>
      x.segments.map((g) => [
        g.msn,
        g.uri,
        g.duration,
        g.pdtMs,
        g.map,
        g.discontinuity ?? false,
        g.gap ?? false,
      ]);
    expect(pick(r.state)).toEqual(pick(s));
    expect(r.state.open).toEqual({ ...s.open, byteLength: 0 });
    expect(r.state).toMatchObject({
      mediaSequence: s.mediaSequence,
      discontinuitySequence: s.discontinuitySequence,
      targetDuration: 1,
      partTarget: 0.25,
      nextMsn: s.open!.msn,
      ended: false,
    });
    expect(r.initIndex).toBe(3);
    // Parts of the last segments are exact; older ones are guessed (for deletion only).
    expect(r.state.segments.at(-1)!.partCount).toBe(4);
  });

  it('guesses what the previous grace period may still hold', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(10);
    const r = resumeFromPlaylist('v', renderLivePlaylist(f.t.state), { windowSegments: 6, now: 0 });
    expect(r.retired.map((x) => x.msn)).toEqual([1, 2, 3, 4]);
    expect(r.retired[0]!.names).toContain('v_1.m4s');
    expect(r.retired[0]!.names).toContain('v_1.3.m4s');
  });

  it('refuses playlists that are not ours', () => {
    expect(() =>
      resumeFromPlaylist('v', '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nv_1.m4s\n', {
        windowSegments: 6,
        now: 0,
      }),
    ).toThrow(/not a low-latency playlist/);
    expect(() => resumeFromPlaylist('v', 'garbage', { windowSegments: 6, now: 0 })).toThrow();
  });

  it('reads init indexes only from its own names', () => {
    expect(initIndexOf('v', 'v_init_12.mp4')).toBe(12);
    expect(initIndexOf('v', 'w_init_12.mp4')).toBe(0);
    expect(initIndexOf('v_x', 'v_x_init_3.mp4')).toBe(3);
  });
});

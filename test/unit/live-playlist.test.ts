import { describe, expect, it } from '@jest/globals';
import {
  lastPart,
  liveMediaPlaylist,
  nextPartUri,
  partNeverComing,
  partPublished,
  renderLivePlaylist,
  renditionReport,
  satisfies,
  skippableSegments,
} from '../../src/packager/live/playlist.js';
import {
  fitsPartTarget,
  liveTargetDuration,
  maxSegmentSecondsFor,
  partTargetFor,
  serverControlFor,
} from '../../src/packager/live/targets.js';
import { parseMediaPlaylist, renderMediaPlaylist } from '../../src/packager/playlist/media.js';
import { LlhlsTracker, checkMediaPlaylist } from '../helpers/llhls-check.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

const check = (text: string, extra: { delta?: boolean; ended?: boolean } = {}) =>
  checkMediaPlaylist(text, { rendition: 'v', renditions: ['v', 'a'], kind: 'video', ...extra });
const reports = [{ uri: 'a.m3u8', lastMsn: 3, lastPart: 1 }];

describe('live targets', () => {
  it.each([
    [0.333, 1 / 30, 0.334],
    [0.333, 1024 / 48000, 0.342],
    [0.333, 1024 / 44100, 0.349],
    [0.2, 1 / 30, 0.2],
    [0.2, 512 / 15360, 0.2],
    [0.2, 1024 / 48000, 0.214],
    [0.5, 1 / 25, 0.52],
    [0.1, 0.2, 0.2],
  ])('PART-TARGET for %f s parts of %f s frames is %f', (part, frame, want) => {
    expect(partTargetFor(part, frame)).toBeCloseTo(want, 9);
    // Every part ffmpeg can cut (ceil(part / frame) frames) fits.
    expect(fitsPartTarget(Math.ceil(part / frame - 1e-6) * frame, partTargetFor(part, frame))).toBe(true);
  });

  it('keeps TARGETDURATION whole and segments under it when rounded', () => {
    expect(liveTargetDuration(4)).toBe(4);
    expect(liveTargetDuration(2.5)).toBe(3);
    expect(liveTargetDuration(0.5)).toBe(1);
    expect(Math.round(maxSegmentSecondsFor(4))).toBe(4);
  });

  it('derives SERVER-CONTROL from the floors RFC 8216bis sets', () => {
    expect(serverControlFor(4, 0.342)).toEqual({
      canBlockReload: true,
      canSkipUntil: 24,
      holdBack: 12,
      partHoldBack: 1.026,
    });
  });
});

describe('live media playlists', () => {
  it('renders a strict LL-HLS playlist while the first segment is still open', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.parts(2);
    const text = renderLivePlaylist(f.t.state, { reports });
    check(text);
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:1\n');
    expect(text).toContain('#EXT-X-MAP:URI="v_init_1.mp4"');
    expect(text).toContain('#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n#EXT-X-PART:');
    expect(text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="v_1.2.m4s"');
  });

  it('passes the checker at every step of a stream with runs, gaps and a sliding window', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    const tracker = new LlhlsTracker({ rendition: 'v', renditions: ['v', 'a'], kind: 'video' });
    const step = () => tracker.check(renderLivePlaylist(f.t.state, { reports }));
    f.beginRun();
    for (let i = 0; i < 30; i++) {
      f.parts(1);
      step();
    }
    f.close();
    step();
    f.beginRun(f.t.nextMsn + 1, 1_800_000_000_000, () => 1);
    for (let i = 0; i < 30; i++) {
      f.parts(1);
      step();
      if (i > 8) tracker.check(renderLivePlaylist(f.t.state, { reports, skip: true }));
    }
    f.close();
    f.t.end();
    const last = tracker.check(renderLivePlaylist(f.t.state, { reports }), { ended: true });
    expect(last.endList).toBe(true);
    expect(last.preloadHint).toBeUndefined();
    expect(tracker.reloads).toBeGreaterThan(60);
  });

  it('puts EXT-X-DISCONTINUITY, the new EXT-X-MAP and PROGRAM-DATE-TIME before the parts of an open segment', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(2);
    f.beginRun(undefined, 1_800_000_000_000);
    f.parts(2);
    const text = renderLivePlaylist(f.t.state, { reports });
    check(text);
    expect(text).toMatch(
      /v_2\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="v_init_2\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:00\.000Z\n#EXT-X-PART:DURATION=0\.25000,URI="v_3\.0\.m4s",INDEPENDENT=YES\n/,
    );
    // Round trip: the parser reads the tags of the open segment back.
    const p = parseMediaPlaylist(text);
    expect(p.trailingTags?.discontinuity).toBe(true);
    expect(p.trailingTags?.map?.uri).toBe('v_init_2.mp4');
    expect(renderMediaPlaylist(p)).toBe(text);
  });

  it('renders EXT-X-GAP segments between runs', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(2);
    f.beginRun(4);
    f.parts(1);
    const text = renderLivePlaylist(f.t.state, { reports });
    check(text);
    expect(text).toContain('#EXT-X-GAP\n#EXTINF:1.00000,\nv_3.m4s\n');
  });

  it('renders a delta update that skips what lies beyond CAN-SKIP-UNTIL, and only that', () => {
    const f = new TimelineFeed({ windowSegments: 10 });
    f.beginRun();
    f.segments(10);
    f.parts(1);
    const s = f.t.state;
    // 10 s of segments + 0.25 s open; skip boundary 6 s: segments 1..4 end >= 6 s from the end.
    expect(skippableSegments(s)).toBe(4);
    const full = liveMediaPlaylist(s, { reports });
    const delta = liveMediaPlaylist(s, { reports, skip: true });
    expect(delta.skip).toEqual({ skippedSegments: 4 });
    expect(delta.segments.map((x) => x.uri)).toEqual(full.segments.slice(4).map((x) => x.uri));
    expect(delta.mediaSequence).toBe(full.mediaSequence);
    expect(delta.map).toBeUndefined();
    expect(delta.segments[0]?.map?.uri).toBe('v_init_1.mp4');
    expect(delta.segments[0]?.programDateTime).toBeInstanceOf(Date);
    const text = renderMediaPlaylist(delta);
    check(text, { delta: true });
    expect(text).toContain('#EXT-X-VERSION:9');
    expect(text).toMatch(
      /#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n#EXT-X-MAP:URI="v_init_1.mp4"\n#EXT-X-PROGRAM-DATE-TIME/,
    );
  });

  it('renders the full playlist when nothing can be skipped yet', () => {
    const f = new TimelineFeed({ windowSegments: 6 });
    f.beginRun();
    f.segments(6);
    expect(skippableSegments(f.t.state)).toBe(0);
    expect(renderLivePlaylist(f.t.state, { skip: true, reports })).toBe(
      renderLivePlaylist(f.t.state, { reports }),
    );
  });

  it('reports renditions by their last part', () => {
    const f = new TimelineFeed({ rendition: 'a' });
    expect(renditionReport(f.t.state)).toBeNull();
    f.beginRun();
    f.parts(6);
    expect(renditionReport(f.t.state)).toEqual({ uri: 'a.m3u8', lastMsn: 2, lastPart: 1 });
    f.close();
    expect(renditionReport(f.t.state)).toEqual({ uri: 'a.m3u8', lastMsn: 2, lastPart: 1 });
    expect(nextPartUri(f.t.state)).toBe('a_3.0.m4s');
  });

  it('says when a blocking reload is satisfied (RFC 8216bis 6.2.5.2)', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.parts(6); // segment 1 complete (4 parts), segment 2 has parts 0 and 1
    const s = f.t.state;
    expect(lastPart(s)).toEqual({ msn: 2, part: 1 });
    expect(satisfies(s, 1)).toBe(true);
    expect(satisfies(s, 2)).toBe(false);
    expect(satisfies(s, 2, 1)).toBe(true);
    expect(satisfies(s, 2, 2)).toBe(false);
    expect(satisfies(s, 1, 7)).toBe(true); // segment 1 ended with 4 parts: "or later"
    expect(satisfies(s, 3, 0)).toBe(false);
  });

  it('knows which parts exist and which never will', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.parts(6);
    const s = f.t.state;
    expect(partPublished(s, 2, 1)).toBe(true);
    expect(partPublished(s, 2, 2)).toBe(false);
    expect(partNeverComing(s, 2, 2)).toBe(false);
    expect(partNeverComing(s, 1, 5)).toBe(true);
    expect(partNeverComing(s, 3, 0)).toBe(false);
  });

  it('ends with EXT-X-ENDLIST and no preload hint', () => {
    const f = new TimelineFeed();
    f.beginRun();
    f.segments(2);
    f.t.end();
    const text = renderLivePlaylist(f.t.state, { reports });
    check(text, { ended: true });
    expect(text).not.toContain('PRELOAD-HINT');
    expect(text).toContain('#EXT-X-ENDLIST\n#EXT-X-RENDITION-REPORT');
  });
});

describe('the LL-HLS checker', () => {
  const f = new TimelineFeed();
  f.beginRun();
  f.segments(7);
  f.parts(2);
  const good = renderLivePlaylist(f.t.state, { reports });

  it('accepts the reference playlist', () => {
    expect(() => check(good)).not.toThrow();
  });

  it.each<[string, (t: string) => string, RegExp]>([
    [
      'a second preload hint',
      (t) => t + '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="v_8.3.m4s"\n',
      /PRELOAD-HINT tags/,
    ],
    ['no preload hint', (t) => t.replace(/#EXT-X-PRELOAD-HINT.*\n/, ''), /PRELOAD-HINT tags/],
    ['a hint for the wrong part', (t) => t.replace('v_8.2.m4s"', 'v_8.5.m4s"'), /not the next part/],
    [
      'a part over PART-TARGET',
      (t) => t.replace('DURATION=0.25000,URI="v_8.1', 'DURATION=0.26000,URI="v_8.1'),
      /> PART-TARGET/,
    ],
    [
      'a part under 85%',
      (t) => t.replace('DURATION=0.25000,URI="v_7.1', 'DURATION=0.20000,URI="v_7.1'),
      /85%/,
    ],
    [
      'PART-HOLD-BACK too small',
      (t) => t.replace('PART-HOLD-BACK=0.750', 'PART-HOLD-BACK=0.500'),
      /PART-HOLD-BACK/,
    ],
    ['HOLD-BACK too small', (t) => t.replace('HOLD-BACK=3.000', 'HOLD-BACK=2.000'), /HOLD-BACK 2/],
    [
      'CAN-SKIP-UNTIL too small',
      (t) => t.replace('CAN-SKIP-UNTIL=6.000', 'CAN-SKIP-UNTIL=5.000'),
      /CAN-SKIP-UNTIL/,
    ],
    ['no CAN-BLOCK-RELOAD', (t) => t.replace(',CAN-BLOCK-RELOAD=YES', ''), /CAN-BLOCK-RELOAD/],
    [
      'a missing rendition report',
      (t) => t.replace(/#EXT-X-RENDITION-REPORT.*\n/, ''),
      /RENDITION-REPORT for a\.m3u8/,
    ],
    [
      'a video segment starting without INDEPENDENT',
      (t) => t.replace('URI="v_7.0.m4s",INDEPENDENT=YES', 'URI="v_7.0.m4s"'),
      /not INDEPENDENT/,
    ],
    ['a segment named for another msn', (t) => t.replace('\nv_7.m4s\n', '\nv_9.m4s\n'), /msn by position/],
    [
      'MEDIA-SEQUENCE 0',
      (t) => t.replace('#EXT-X-MEDIA-SEQUENCE:2', '#EXT-X-MEDIA-SEQUENCE:0'),
      /MEDIA-SEQUENCE 0 < 1/,
    ],
    [
      'a short window',
      (t) =>
        t
          .replace(/#EXT-X-PROGRAM-DATE-TIME.*\n#EXTINF:1.00000,\nv_2.m4s\n/, '')
          .replace('SEQUENCE:2', 'SEQUENCE:3'),
      /window of 5/,
    ],
    [
      'an EXTINF over the target',
      (t) => t.replace('#EXTINF:1.00000,\nv_3.m4s', '#EXTINF:1.60000,\nv_3.m4s'),
      /rounds above/,
    ],
    ['no PROGRAM-DATE-TIME', (t) => t.replace(/#EXT-X-PROGRAM-DATE-TIME.*\n/, ''), /PROGRAM-DATE-TIME/],
    [
      'ENDLIST with a hint',
      (t) => t.replace('#EXT-X-PRELOAD-HINT', '#EXT-X-ENDLIST\n#EXT-X-PRELOAD-HINT'),
      /after EXT-X-ENDLIST/,
    ],
  ])('rejects %s', (_name, mutate, problem) => {
    const bad = mutate(good);
    expect(bad).not.toBe(good);
    expect(() => check(bad)).toThrow(problem);
  });

  it('rejects a playlist going back across reloads', () => {
    const tracker = new LlhlsTracker({ rendition: 'v', renditions: ['v', 'a'] });
    tracker.check(good);
    const older = new TimelineFeed();
    older.beginRun();
    older.segments(6);
    expect(() => tracker.check(renderLivePlaylist(older.t.state, { reports }))).toThrow(/went back/);
  });
});

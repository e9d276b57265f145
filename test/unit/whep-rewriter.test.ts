import { describe, expect, it } from '@jest/globals';
import { TrackRewriter } from '../../src/ingest/whep/rewriter.js';

describe('TrackRewriter (viewer sequence numbers and timestamps)', () => {
  it('starts at its own sequence number and timestamp and follows the source by offsets', () => {
    const r = new TrackRewriter(90000, 100, 5000);
    expect(r.started).toBe(false);
    expect(r.map('a:1', 40000, 777, 0)).toEqual({ seq: 100, ts: 5000 });
    expect(r.started).toBe(true);
    expect(r.map('a:1', 40001, 777, 10)).toEqual({ seq: 101, ts: 5000 });
    expect(r.map('a:1', 40002, 777 + 3000, 33)).toEqual({ seq: 102, ts: 8000 });
    // The NACKed viewer sequence number leads back to the source's, and a resend keeps its timestamp.
    expect(r.original(101)).toBe(40001);
    expect(r.timestamp(777 + 3000)).toBe(8000);
  });

  it('stays continuous across a source switch: sequence +1, timestamp + elapsed wall time', () => {
    const r = new TrackRewriter(90000, 1000, 1_000_000);
    r.map('s1:10', 5, 100, 1000);
    r.map('s1:10', 6, 3100, 1033);
    // A takeover: a new session with an unrelated SSRC, sequence and timestamp, 100 ms later.
    const first = r.map('s2:99', 60000, 4_000_000_000, 1133);
    expect(first.seq).toBe(1002);
    expect(first.ts).toBe(1_000_000 + 3000 + 9000);
    expect(r.map('s2:99', 60001, 4_000_000_000 + 3000, 1166)).toEqual({
      seq: 1003,
      ts: 1_000_000 + 3000 + 9000 + 3000,
    });
    expect(r.original(1003)).toBe(60001);
    // Even with no wall time between them, the timestamp moves on by at least one tick.
    const r2 = new TrackRewriter(48000, 0, 0);
    r2.map('a', 1, 960, 50);
    expect(r2.map('b', 9, 123456, 50)).toEqual({ seq: 1, ts: 1 });
  });

  it('rebase() with the same source starts a new offset at the next packet', () => {
    const r = new TrackRewriter(90000, 10, 0);
    r.map('a', 100, 0, 0);
    r.rebase();
    // The source jumped (a gap, then a key frame): the viewer still sees +1.
    expect(r.map('a', 500, 90000, 1000).seq).toBe(11);
  });

  it('wraps sequence numbers at 2^16 and timestamps at 2^32, in the source and the viewer', () => {
    const r = new TrackRewriter(90000, 0xfffe, 0xffff_ff00);
    expect(r.map('a', 10, 0, 0)).toEqual({ seq: 0xfffe, ts: 0xffff_ff00 });
    expect(r.map('a', 11, 0x80, 1)).toEqual({ seq: 0xffff, ts: 0xffff_ff80 });
    expect(r.map('a', 12, 0x100, 2)).toEqual({ seq: 0, ts: 0 });
    expect(r.map('a', 13, 0x180, 3)).toEqual({ seq: 1, ts: 0x80 });
    expect(r.original(0)).toBe(12);
    // The source wrapping is seen as +1 too.
    const s = new TrackRewriter(90000, 500, 0);
    s.map('b', 0xffff, 0xffff_fff0, 0);
    expect(s.map('b', 0, 0x10, 1)).toEqual({ seq: 501, ts: 0x20 });
  });

  it('a late (reordered) packet keeps its place and does not move the end back', () => {
    const r = new TrackRewriter(90000, 200, 0);
    r.map('a', 1, 0, 0);
    r.map('a', 3, 6000, 66);
    expect(r.map('a', 2, 3000, 70)).toEqual({ seq: 201, ts: 3000 });
    // The next source switch continues from the newest packet (seq 202), not the late one.
    expect(r.map('b', 9000, 0, 166).seq).toBe(203);
  });

  it('sender reports: RTP time runs on from the last packet at the clock rate', () => {
    const r = new TrackRewriter(90000, 0, 1000);
    r.map('a', 1, 0, 5000);
    expect(r.rtpTimeAt(5000)).toBe(1000);
    expect(r.rtpTimeAt(6000)).toBe(1000 + 90000);
  });
});

import { describe, expect, it } from '@jest/globals';
import { TopLayerSelector } from '../../src/ingest/rtp/layer-selector.js';
import { LayerFollower } from '../../src/ingest/whep/layer-follower.js';
import { TrackRewriter } from '../../src/ingest/whep/rewriter.js';

const SIZES = { q: [160, 90], h: [320, 180], f: [640, 360] } as const;
const frame = (rid: keyof typeof SIZES, keyframe: boolean) => ({
  keyframe,
  width: SIZES[rid][0],
  height: SIZES[rid][1],
});

describe('TopLayerSelector: which layer the transcode gets', () => {
  it('waits for every layer to show its size, then starts at a key frame of the largest', () => {
    const s = new TopLayerSelector({ rids: ['q', 'h', 'f'] });
    expect(s.frame('q', frame('q', true), 0)).toBe(false);
    expect(s.frame('h', frame('h', true), 5)).toBe(false);
    expect(s.wanted(5)).toBe('h'); // the largest known so far
    expect(s.frame('f', frame('f', true), 10)).toBe(true);
    expect(s.current).toBe('f');
    expect(s.frame('h', frame('h', false), 40)).toBe(false);
    expect(s.frame('f', frame('f', false), 40)).toBe(true);
    expect(s.wanted(40)).toBeNull();
  });

  it('settles on the largest layer there is when one never starts (a paused or unaffordable layer)', () => {
    const s = new TopLayerSelector({ rids: ['q', 'h', 'f'], settleMs: 500 });
    expect(s.frame('h', frame('h', true), 0)).toBe(false);
    expect(s.frame('h', frame('h', true), 600)).toBe(true);
    expect(s.current).toBe('h');
    // f starts later: h goes on until f's first key frame, then f.
    expect(s.frame('f', { keyframe: false, width: null, height: null }, 700)).toBe(false);
    expect(s.frame('f', frame('f', true), 800)).toBe(true);
    expect(s.frame('h', frame('h', false), 801)).toBe(false);
    expect(s.current).toBe('f');
  });

  it('falls back to the next layer at its key frame when the current one stops', () => {
    const s = new TopLayerSelector({ rids: ['q', 'h', 'f'], staleMs: 1000 });
    for (const rid of ['q', 'h', 'f'] as const) s.frame(rid, frame(rid, true), 0);
    expect(s.current).toBe('f');
    expect(s.frame('h', frame('h', false), 1500)).toBe(false); // f stopped at 0: h is the target now
    expect(s.wanted(1500)).toBe('h');
    expect(s.frame('h', frame('h', true), 1533)).toBe(true);
    expect(s.current).toBe('h');
    expect(s.frame('x', frame('f', true), 1600)).toBe(false); // not a layer of the offer
  });
});

describe('LayerFollower: which layer a WHEP viewer gets', () => {
  it('joins its requested layer at a key frame and leaves the others', () => {
    const v = new LayerFollower('h', 0);
    expect(v.accept('f', true, 10, 'f')).toBe(false);
    expect(v.accept('h', false, 10, 'f')).toBe(false);
    expect(v.wanted(10, 'f')).toBe('h');
    expect(v.accept('h', true, 20, 'f')).toBe(true);
    expect(v.accept('h', false, 30, 'f')).toBe(true);
    expect(v.accept('q', true, 30, 'f')).toBe(false);
  });

  it('follows the highest by default, and the requested layer only while it is sent', () => {
    const d = new LayerFollower(null, 0);
    expect(d.accept('h', true, 0, 'f')).toBe(false);
    expect(d.accept('f', true, 0, 'f')).toBe(true);
    // The top becomes h (f stopped): switch at h's key frame, not before.
    expect(d.accept('h', false, 100, 'h')).toBe(false);
    expect(d.accept('h', true, 133, 'h')).toBe(true);
    expect(d.current).toBe('h');

    const q = new LayerFollower('q', 0, 1000);
    expect(q.target(500, 'f')).toBe('q'); // waits for q a while
    expect(q.target(1500, 'f')).toBe('f'); // q never came: the highest
    expect(q.accept('f', true, 1500, 'f')).toBe(true);
    expect(q.accept('q', true, 1600, 'f')).toBe(true); // q is back: switch at its key frame
    expect(q.current).toBe('q');
  });

  it('a switch continues sequence numbers and timestamps (the rewriter sees a new source)', () => {
    const r = new TrackRewriter(90000, 1000, 5000);
    const a = r.map('s:111', 40000, 900000, 0);
    const a2 = r.map('s:111', 40001, 903000, 33);
    const b = r.map('s:222', 7, 123, 66); // another layer: another SSRC, its own numbering
    expect(a2.seq).toBe((a.seq + 1) & 0xffff);
    expect(b.seq).toBe((a2.seq + 1) & 0xffff);
    expect(b.ts - a2.ts).toBe(Math.round((33 * 90000) / 1000));
  });
});

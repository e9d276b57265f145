import { describe, expect, it } from '@jest/globals';
import {
  decodeSnapshot,
  encodeSnapshot,
  type RenditionSnapshot,
} from '../../src/packager/live/state-store.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

describe("a live rendition's stored state", () => {
  const f = new TimelineFeed({ windowSegments: 6 });
  f.beginRun();
  f.segments(9);
  f.beginRun(undefined, 1_800_000_000_000);
  f.parts(2);
  const snap: RenditionSnapshot = { v: 1, state: f.t.state, retired: [...f.t.retired], initIndex: 2 };

  it('round-trips: window, discontinuities, open parts, pending deletions, init index', () => {
    const back = decodeSnapshot(encodeSnapshot(snap).toString(), 'v');
    expect(back).toEqual(JSON.parse(JSON.stringify(snap)));
    expect(back.retired.map((r) => r.msn)).toEqual([1, 2, 3]);
    expect(back.retired[0]!.names).toEqual(['v_1.m4s', 'v_1.0.m4s', 'v_1.1.m4s', 'v_1.2.m4s', 'v_1.3.m4s']);
    expect(back.state.open?.parts).toHaveLength(2);
  });

  it.each<[string, unknown]>([
    ['not JSON', '{'],
    ['another version', { ...snap, v: 2 }],
    ['another rendition', { ...snap, state: { ...snap.state, rendition: 'w' } }],
    ['a name with a slash', { ...snap, retired: [{ msn: 1, names: ['../x.m4s'], map: 'v_init_1.mp4' }] }],
    ['a negative init index', { ...snap, initIndex: -1 }],
  ])('is refused when it is %s', (_n, value) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    expect(() => decodeSnapshot(text, 'v')).toThrow();
  });
});

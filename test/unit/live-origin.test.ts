import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LiveOrigin, type PlaylistAnswer } from '../../src/origin/live-origin.js';
import { blockingTimeoutMs } from '../../src/origin/timeouts.js';
import { awaitPart, mediaPlaylist } from '../helpers/origin-answers.js';
import { parseDirectives } from '../../src/origin/directives.js';
import { LocalLiveBus, parseLiveEvent, type LiveEvent } from '../../src/packager/live/bus.js';
import { renderLivePlaylist, renditionReport } from '../../src/packager/live/playlist.js';
import type { StoredObject } from '../../src/packager/storage/storage.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

const tick = () => new Promise((r) => setImmediate(r));
const never = new AbortController().signal;

const text = (a: PlaylistAnswer | { kind: 'aborted' }): string => {
  if (a.kind !== 'playlist') throw new Error(`not a playlist: ${a.kind}`);
  return a.body.toString();
};

describe('LiveOrigin', () => {
  let bus: LocalLiveBus;
  let origin: LiveOrigin;
  let v: TimelineFeed;
  let a: TimelineFeed;

  const publish = async (f: TimelineFeed, part = true, streamId = 'cam'): Promise<void> => {
    const s = f.t.state;
    const last = s.open ? { msn: s.open.msn, part: s.open.parts.length - 1 } : null;
    const e: LiveEvent = {
      v: 1,
      streamId,
      rendition: s.rendition,
      state: s,
      part: part && last ? { ...last, uri: `${s.rendition}_${last.msn}.${last.part}.m4s` } : null,
      at: Date.now(),
    };
    await bus.publish(e);
    await tick();
  };

  beforeEach(async () => {
    bus = new LocalLiveBus();
    origin = new LiveOrigin({ bus, maxHeld: 3 });
    v = new TimelineFeed({ rendition: 'v', windowSegments: 6 });
    a = new TimelineFeed({ rendition: 'a', windowSegments: 6 });
    for (const f of [v, a]) {
      f.beginRun();
      f.parts(6); // segment 1 complete, segment 2 has parts 0 and 1
      await publish(f);
    }
  });

  afterEach(async () => {
    await origin.close();
    await bus.close();
  });

  it('knows live streams and forgets nothing it was not told', async () => {
    expect(origin.isLive('cam')).toBe(true);
    expect(origin.isLive('other')).toBe(false);
    expect((await mediaPlaylist(origin, 'other', 'v', { skip: false }, never)).kind).toBe('not_live');
    expect((await mediaPlaylist(origin, 'cam', 'x', { skip: false }, never)).kind).toBe('not_live');
  });

  it('answers from memory at once, with reports of the other renditions', async () => {
    const got = text(await mediaPlaylist(origin, 'cam', 'v', { skip: false }, never));
    expect(got).toBe(renderLivePlaylist(v.t.state, { reports: [renditionReport(a.t.state)!] }));
  });

  it('answers at once a request the playlist already satisfies', async () => {
    const got = text(await mediaPlaylist(origin, 'cam', 'v', { msn: 2, part: 1, skip: false }, never));
    expect(got).toContain('v_2.1.m4s');
    expect(origin.held).toBe(0);
  });

  it('holds a blocking request until the part is published, then answers with it', async () => {
    const pending = mediaPlaylist(origin, 'cam', 'v', { msn: 2, part: 2, skip: false }, never);
    await tick();
    expect(origin.held).toBe(1);
    v.parts(1);
    const t0 = Date.now();
    await publish(v);
    const got = text(await pending);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(got).toContain('URI="v_2.2.m4s"');
    expect(got).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="v_2.3.m4s"');
    expect(origin.held).toBe(0);
  });

  it('holds `_HLS_msn` alone until that segment is complete', async () => {
    const pending = mediaPlaylist(origin, 'cam', 'v', { msn: 2, skip: false }, never);
    v.parts(2);
    await publish(v);
    expect(origin.held).toBe(1);
    v.parts(1); // closes segment 2
    await publish(v);
    expect(text(await pending)).toContain('#EXTINF:1.00000,\nv_2.m4s\n');
  });

  it('refuses a request more than two segments ahead (RFC 8216bis 6.2.5.2)', async () => {
    expect(await mediaPlaylist(origin, 'cam', 'v', { msn: 5, skip: false }, never)).toEqual({
      kind: 'too_far',
      lastMsn: 2,
    });
    expect(origin.held).toBe(0);
  });

  it('times out a held request before hls.js would, with a 503 to come', async () => {
    const t0 = Date.now();
    const got = await mediaPlaylist(origin, 'cam', 'v', { msn: 4, part: 0, skip: false }, never);
    const waited = Date.now() - t0;
    expect(got.kind).toBe('timeout');
    const limit = blockingTimeoutMs(1, 0.25, true);
    expect(waited).toBeGreaterThanOrEqual(limit - 20);
    expect(waited).toBeLessThan(limit + 2000);
    expect(origin.held).toBe(0);
  });

  it('forgets a held request whose client went away', async () => {
    const ac = new AbortController();
    const pending = mediaPlaylist(origin, 'cam', 'v', { msn: 3, skip: false }, ac.signal);
    await tick();
    expect(origin.held).toBe(1);
    ac.abort();
    expect((await pending).kind).toBe('aborted');
    expect(origin.held).toBe(0);
  });

  it('caps held requests: beyond maxHeld the answer is busy at once', async () => {
    const ac = new AbortController();
    const held = [1, 2, 3].map(() => mediaPlaylist(origin, 'cam', 'v', { msn: 3, skip: false }, ac.signal));
    expect((await mediaPlaylist(origin, 'cam', 'v', { msn: 3, skip: false }, never)).kind).toBe('busy');
    expect(await awaitPart(origin, 'cam', 'v', 2, 2, never)).toBe('busy');
    ac.abort();
    await Promise.all(held);
    expect(origin.held).toBe(0);
  });

  it("caps each client's held requests: over its share it is limited, others keep theirs", async () => {
    const fair = new LiveOrigin({ bus, maxHeld: 10, maxHeldPerClient: 2 });
    try {
      await publish(v);
      const ac = new AbortController();
      const flood = [1, 2].map(() =>
        mediaPlaylist(fair, 'cam', 'v', { msn: 3, skip: false }, ac.signal, 'greedy'),
      );
      expect((await mediaPlaylist(fair, 'cam', 'v', { msn: 3, skip: false }, never, 'greedy')).kind).toBe(
        'limited',
      );
      expect(await awaitPart(fair, 'cam', 'v', 2, 2, never, 'greedy')).toBe('limited');
      // Another viewer is held as usual, and answered when the part comes.
      const other = mediaPlaylist(fair, 'cam', 'v', { msn: 2, part: 2, skip: false }, never, 'viewer');
      expect(fair.held).toBe(3);
      v.parts(1);
      await publish(v);
      expect((await other).kind).toBe('playlist');
      // The flooder's slots come back once its requests are answered or dropped.
      ac.abort();
      await Promise.all(flood);
      expect(fair.held).toBe(0);
      const ac2 = new AbortController();
      const again = mediaPlaylist(fair, 'cam', 'v', { msn: 3, skip: false }, ac2.signal, 'greedy');
      expect(fair.held).toBe(1);
      ac2.abort();
      await again;
    } finally {
      await fair.close();
    }
  });

  it('answers every held request with the final playlist when the stream ends', async () => {
    const pending = [
      mediaPlaylist(origin, 'cam', 'v', { msn: 3, part: 0, skip: false }, never),
      mediaPlaylist(origin, 'cam', 'v', { msn: 4, skip: false }, never),
    ];
    v.parts(2);
    v.close();
    v.t.end();
    await publish(v, false);
    for (const p of pending) {
      const got = text(await p);
      expect(got).toContain('#EXT-X-ENDLIST');
      expect(got).not.toContain('PRELOAD-HINT');
    }
    expect(origin.isLive('cam')).toBe(true); // the audio rendition has not ended yet
  });

  it('renders a delta update on `_HLS_skip`', async () => {
    const w = new TimelineFeed({ rendition: 'v', windowSegments: 10 });
    w.beginRun();
    w.parts(46);
    await publish(w, true, 'cam2');
    const delta = text(await mediaPlaylist(origin, 'cam2', 'v', { skip: true }, never));
    expect(delta).toMatch(/#EXT-X-SKIP:SKIPPED-SEGMENTS=4\n/);
    expect(delta).toBe(renderLivePlaylist(w.t.state, { skip: true }));
  });

  it('ignores an event older than what it has', async () => {
    const old = structuredClone(v.t.state);
    v.parts(3);
    await publish(v);
    await bus.publish({ v: 1, streamId: 'cam', rendition: 'v', state: old, part: null, at: Date.now() });
    await tick();
    expect(origin.state('cam', 'v')?.open?.parts.length).toBe(v.t.state.open?.parts.length);
  });

  it('answers every request one event releases in that turn, oldest first, with one shared body', async () => {
    const order: number[] = [];
    const bodies = new Set<Buffer>();
    const cancels = [0, 1, 2].map((i) =>
      origin.holdPlaylist('cam', 'v', { msn: 2, part: 2, skip: false }, `c${i}`, (got) => {
        order.push(i);
        if (got.kind === 'playlist') bodies.add(got.body);
      }),
    );
    expect(cancels.every((c) => typeof c === 'function')).toBe(true);
    expect(origin.held).toBe(3);
    (cancels[1] as () => void)(); // its client went away: never answered
    expect(origin.held).toBe(2);
    // Answered within the event's own delivery: a listener after the origin's sees them all.
    const seen: number[][] = [];
    bus.subscribe(() => seen.push([...order]));
    v.parts(1);
    await publish(v);
    expect(seen).toEqual([[0, 2]]);
    expect(bodies.size).toBe(1);
    expect(origin.held).toBe(0);
    (cancels[0] as () => void)(); // cancelling after the answer does nothing
    expect(origin.held).toBe(0);
  });

  it('holds a request for the next part until it is published', async () => {
    expect(await awaitPart(origin, 'cam', 'v', 2, 1, never)).toBe('published');
    expect(await awaitPart(origin, 'cam', 'v', 1, 9, never)).toBe('never');
    expect(await awaitPart(origin, 'cam', 'v', 9, 0, never)).toBe('never');
    expect(await awaitPart(origin, 'x', 'v', 2, 2, never)).toBe('not_live');
    const pending = awaitPart(origin, 'cam', 'v', 2, 2, never);
    v.parts(1);
    await publish(v);
    expect(await pending).toBe('published');
    // A part that the segment closes without: 404 as soon as that is known.
    const missing = awaitPart(origin, 'cam', 'v', 2, 4, never);
    v.parts(2); // 2.3, then 3.0 (segment 2 ended with 4 parts)
    await publish(v);
    expect(await missing).toBe('never');
  });
});

describe('LiveOrigin part memory', () => {
  let bus: LocalLiveBus;
  let origin: LiveOrigin;
  let v: TimelineFeed;

  const part = (bytes: number): StoredObject => ({
    body: Buffer.alloc(bytes, 7),
    contentType: 'video/mp4',
    modified: new Date(0),
  });
  const publish = async (): Promise<void> => {
    const e: LiveEvent = {
      v: 1,
      streamId: 'cam',
      rendition: 'v',
      state: v.t.state,
      part: null,
      at: Date.now(),
    };
    await bus.publish(e);
    await tick();
  };

  beforeEach(async () => {
    bus = new LocalLiveBus();
    origin = new LiveOrigin({ bus, partCacheBytes: 1000 });
    v = new TimelineFeed({ rendition: 'v', windowSegments: 6 });
    v.beginRun();
    v.parts(6); // segment 1 complete (parts 0-3), segment 2 has parts 0 and 1
    await publish();
  });

  afterEach(async () => {
    await origin.close();
    await bus.close();
  });

  it('serves a part only while its segment is in the window, never after the packager deleted it', async () => {
    origin.keepPart('cam', 'v_1.0.m4s', part(100));
    expect(origin.cachedPart('cam', 'v_1.0.m4s')?.body.length).toBe(100);
    // Never kept: a part not published yet, another stream's, a name that is no part.
    origin.keepPart('cam', 'v_2.3.m4s', part(100));
    origin.keepPart('other', 'v_1.0.m4s', part(100));
    origin.keepPart('cam', 'v.m3u8', part(100));
    expect(origin.cachedPart('cam', 'v_2.3.m4s')).toBeNull();
    expect(origin.cachedPart('other', 'v_1.0.m4s')).toBeNull();
    expect(origin.partBytes).toBe(100);
    // The window moves on one part at a time: served exactly while segment 1 is in it. The
    // packager deletes the part later still (a window after), so memory never serves a
    // part storage no longer has.
    let left = -1;
    for (let step = 0; !v.deleted.includes('v_1.0.m4s'); step++) {
      expect(step).toBeLessThan(200);
      v.parts(1);
      await publish();
      const inWindow = v.t.state.segments.some((seg) => seg.msn === 1);
      if (!inWindow && left < 0) left = step;
      expect(origin.cachedPart('cam', 'v_1.0.m4s') !== null).toBe(inWindow);
    }
    expect(left).toBeGreaterThan(0);
    expect(origin.partBytes).toBe(0);
    // Once gone it is not taken back.
    origin.keepPart('cam', 'v_1.0.m4s', part(100));
    expect(origin.cachedPart('cam', 'v_1.0.m4s')).toBeNull();
  });

  it('stays within its byte cap, dropping the least recently served part first', () => {
    const names = ['v_1.0.m4s', 'v_1.1.m4s', 'v_1.2.m4s', 'v_1.3.m4s'];
    for (const n of names) origin.keepPart('cam', n, part(250));
    expect(origin.partBytes).toBe(1000);
    expect(origin.cachedPart('cam', 'v_1.0.m4s')).not.toBeNull(); // now the most recently served
    origin.keepPart('cam', 'v_2.0.m4s', part(250));
    expect(origin.partBytes).toBe(1000);
    expect(origin.cachedPart('cam', 'v_1.1.m4s')).toBeNull();
    for (const n of ['v_1.0.m4s', 'v_1.2.m4s', 'v_1.3.m4s', 'v_2.0.m4s']) {
      expect(origin.cachedPart('cam', n)).not.toBeNull();
    }
    // A part above a quarter of the cap is never kept.
    origin.keepPart('cam', 'v_2.1.m4s', part(251));
    expect(origin.cachedPart('cam', 'v_2.1.m4s')).toBeNull();
    expect(origin.partBytes).toBeLessThanOrEqual(1000);
  });
});

describe('delivery directives', () => {
  it.each<[Record<string, unknown>, unknown]>([
    [{}, { skip: false }],
    [{ _HLS_msn: '12' }, { msn: 12, skip: false }],
    [
      { _HLS_msn: '12', _HLS_part: '0' },
      { msn: 12, part: 0, skip: false },
    ],
    [{ _HLS_skip: 'YES' }, { skip: true }],
    [
      { _HLS_skip: 'v2', _HLS_msn: '3' },
      { msn: 3, skip: true },
    ],
    [{ other: 'x' }, { skip: false }],
    [{ _HLS_part: '1' }, '_HLS_part needs _HLS_msn'],
    [{ _HLS_msn: '-1' }, '_HLS_msn must be one decimal integer'],
    [{ _HLS_msn: '1.5' }, '_HLS_msn must be one decimal integer'],
    [{ _HLS_msn: ['1', '2'] }, '_HLS_msn must be one decimal integer'],
    [{ _HLS_msn: '1', _HLS_part: 'x' }, '_HLS_part must be one decimal integer'],
    [{ _HLS_skip: 'yes' }, '_HLS_skip must be YES or v2'],
  ])('%j → %j', (query, want) => {
    expect(parseDirectives(query)).toEqual(want);
  });

  it('holds blocking requests for less than hls.js waits, and never past 3 target durations', () => {
    // hls.js: max(3 x PART-TARGET, 0.8 x TARGETDURATION) with _HLS_part, 10 s without.
    expect(blockingTimeoutMs(4, 0.342, true)).toBe(2720);
    expect(blockingTimeoutMs(1, 0.2, true)).toBe(550);
    expect(blockingTimeoutMs(4, 0.342, false)).toBe(8500);
    expect(blockingTimeoutMs(2, 0.2, false)).toBe(6000);
    for (const [td, pt] of [
      [1, 0.1],
      [2, 0.2],
      [4, 0.5],
      [6, 1],
      [12, 2],
    ] as const) {
      const hlsJs = Math.max(3 * pt, 0.8 * td) * 1000;
      expect(blockingTimeoutMs(td, pt, true)).toBeLessThan(hlsJs);
      expect(blockingTimeoutMs(td, pt, true)).toBeLessThanOrEqual(3 * td * 1000);
    }
  });
});

describe('live events', () => {
  const f = new TimelineFeed();
  f.beginRun();
  f.parts(2);
  const good: LiveEvent = { v: 1, streamId: 'cam', rendition: 'v', state: f.t.state, part: null, at: 1 };

  it('round-trip as JSON', () => {
    expect(parseLiveEvent(JSON.stringify(good))).toEqual(JSON.parse(JSON.stringify(good)));
  });

  it('stay a few KB for a full window', () => {
    const g = new TimelineFeed({
      windowSegments: 10,
      targetDuration: 4,
      partSeconds: 0.333,
      partsPerSegment: 12,
    });
    g.beginRun();
    g.parts(12 * 12 + 5);
    const size = JSON.stringify({ ...good, state: g.t.state }).length;
    expect(size).toBeLessThan(8 * 1024);
  });

  it.each<[string, (e: LiveEvent) => unknown]>([
    [
      'a URI with a slash',
      (e) => ({ ...e, state: { ...e.state, open: { ...e.state.open!, map: '../x.mp4' } } }),
    ],
    [
      'a URI with a line break',
      (e) => ({
        ...e,
        state: { ...e.state, open: { ...e.state.open!, parts: [{ uri: 'a\n#EXT-X-ENDLIST', duration: 1 }] } },
      }),
    ],
    ['a bad stream id', (e) => ({ ...e, streamId: '../etc' })],
    ['a rendition that is not the state', (e) => ({ ...e, rendition: 'w' })],
    ['another version', (e) => ({ ...e, v: 2 })],
  ])('are dropped with %s', (_n, mutate) => {
    expect(parseLiveEvent(JSON.stringify(mutate(good)))).toBeNull();
  });

  it('are dropped when not JSON', () => {
    expect(parseLiveEvent('{')).toBeNull();
  });
});

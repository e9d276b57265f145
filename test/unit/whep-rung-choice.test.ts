import { describe, expect, it } from '@jest/globals';
import { ViewerBandwidth } from '../../src/ingest/whep/bandwidth-estimate.js';
import { RungChoice, type RungOption } from '../../src/ingest/whep/rung-choice.js';

// The ladder of the brief, video + ~64 kb/s Opus + a little overhead; given out of order on purpose.
const LADDER: RungOption[] = [
  { name: '480p', bitrateBps: 1_296_000 },
  { name: '720p', bitrateBps: 2_596_000 },
  { name: '360p', bitrateBps: 796_000 },
];

interface Switch {
  atMs: number;
  from: string;
  to: string;
}

/** Runs the choice every `stepMs` from `fromMs` to `toMs` with `estimate(t)`, recording each switch. */
function run(
  choice: RungChoice,
  estimate: (tMs: number) => number | null,
  toMs: number,
  { fromMs = 0, stepMs = 100 } = {},
): Switch[] {
  const switches: Switch[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) {
    const from = choice.wanted;
    const to = choice.update(estimate(t), t);
    if (to !== from) switches.push({ atMs: t, from, to });
  }
  return switches;
}

const order = (name: string): number => ['360p', '480p', '720p'].indexOf(name);

describe('RungChoice: following a viewer’s estimate', () => {
  it('starts at the highest rung, or at startRung, and keeps it while nothing is known', () => {
    expect(new RungChoice(LADDER).wanted).toBe('720p');
    const c = new RungChoice(LADDER, { startRung: '480p' });
    expect(run(c, () => null, 30_000)).toEqual([]);
    expect(c.wanted).toBe('480p');
  });

  it('settles a 1 Mb/s REMB viewer on 360p within 1 s', () => {
    const bw = new ViewerBandwidth();
    const c = new RungChoice(LADDER);
    const switches = run(
      c,
      (t) => {
        bw.onRemb(1_000_000, t);
        return bw.estimateBps;
      },
      10_000,
    );
    expect(switches).toEqual([{ atMs: 1000, from: '720p', to: '360p' }]);
  });

  it('keeps a 5 Mb/s viewer at 720p', () => {
    const bw = new ViewerBandwidth();
    const c = new RungChoice(LADDER);
    const switches = run(
      c,
      (t) => {
        if (t % 1000 === 0) bw.onRemb(5_000_000, t);
        bw.onSent(2_596_000, t);
        return bw.estimateBps;
      },
      60_000,
    );
    expect(switches).toEqual([]);
    expect(c.wanted).toBe('720p');
  });

  it('rides out a dip shorter than downHoldMs', () => {
    const c = new RungChoice(LADDER);
    expect(run(c, (t) => (t >= 2000 && t < 2900 ? 500_000 : 5_000_000), 20_000)).toEqual([]);
  });

  it('goes down straight to the highest rung that fits, or to the lowest', () => {
    const c = new RungChoice(LADDER);
    expect(run(c, () => 1_600_000, 2000)).toEqual([{ atMs: 1000, from: '720p', to: '480p' }]);
    const d = new RungChoice(LADDER);
    expect(run(d, () => 300_000, 2000)).toEqual([{ atMs: 1000, from: '720p', to: '360p' }]);
  });

  it('goes up one rung at a time, each after upHoldMs of fitting', () => {
    const c = new RungChoice(LADDER, { startRung: '360p' });
    expect(run(c, () => 10_000_000, 20_000)).toEqual([
      { atMs: 4000, from: '360p', to: '480p' },
      { atMs: 8000, from: '480p', to: '720p' },
    ]);
  });

  it('restarts the up hold when the estimate breaks it', () => {
    const c = new RungChoice(LADDER, { startRung: '360p' });
    // Fits 480p except for one sample at 3 s: the hold runs again from 3.1 s.
    const switches = run(c, (t) => (t === 3000 ? 1_000_000 : 2_000_000), 20_000);
    expect(switches).toEqual([{ atMs: 7100, from: '360p', to: '480p' }]);
  });

  it('waits 2 × upHoldMs after a down-switch before going up again', () => {
    const c = new RungChoice(LADDER);
    // Down at 1 s; 480p fits again from 1.5 s, but up only at 1 s + 8 s.
    const switches = run(c, (t) => (t < 1500 ? 1_000_000 : 1_600_000), 20_000);
    expect(switches).toEqual([
      { atMs: 1000, from: '720p', to: '360p' },
      { atMs: 9000, from: '360p', to: '480p' },
    ]);
  });

  it.each([500, 1000, 2500, 5000, 10_000, 20_000])(
    'does not flip faster than once per 8 s when the estimate wavers around 480p (half period %i ms)',
    (halfMs) => {
      // 480p fits from 1 296 000 / 0.85 ≈ 1 525 000 b/s; the estimate swings ±5% around that.
      const c = new RungChoice(LADDER, { startRung: '480p' });
      const switches = run(c, (t) => (Math.floor(t / halfMs) % 2 === 0 ? 1_450_000 : 1_600_000), 120_000);
      for (const [i, s] of switches.entries()) {
        expect([s.from, s.to]).toEqual(expect.arrayContaining(['360p', '480p']));
        const prev = switches[i - 1];
        if (prev === undefined) continue;
        const up = order(s.to) > order(s.from);
        // Up again only 8 s after the last down; down may follow an up at once.
        if (up) expect(s.atMs - prev.atMs).toBeGreaterThanOrEqual(8000);
        // A pair of switches (down then up, or up then down) takes at least 8 s.
        const before = switches[i - 2];
        if (before !== undefined) expect(s.atMs - before.atMs).toBeGreaterThanOrEqual(8000);
      }
      expect(switches.length).toBeLessThanOrEqual(1 + (2 * 120_000) / 8000);
    },
  );

  it('keeps a viewer still when the estimate wavers faster than upHoldMs', () => {
    const c = new RungChoice(LADDER, { startRung: '360p' });
    expect(run(c, (t) => (Math.floor(t / 1500) % 2 === 0 ? 1_450_000 : 1_600_000), 120_000)).toEqual([]);
  });

  it('honours its options', () => {
    const c = new RungChoice(LADDER, { headroom: 1, upHoldMs: 500, downHoldMs: 0, startRung: '360p' });
    expect(c.update(1_300_000, 0)).toBe('360p');
    expect(c.update(1_300_000, 500)).toBe('480p');
    expect(c.update(1_000_000, 600)).toBe('360p');
    expect(c.update(1_300_000, 1000)).toBe('360p');
    expect(c.update(1_300_000, 1500)).toBe('360p'); // held 500 ms, but not yet 2 × 500 ms since the down
    expect(c.update(1_300_000, 1600)).toBe('480p');
  });
});

describe('RungChoice: trials above an estimate that follows what arrives', () => {
  const bps = (name: string): number => LADDER.find((r) => r.name === name)!.bitrateBps;

  it('climbs a clear link one trial at a time when the estimate only follows the rate sent', () => {
    // A receive-side estimate: 20% above what arrives, never more (libwebrtc caps its REMB
    // at 1.5 times what arrives, so a ladder of ×2 steps never shows room by itself).
    const c = new RungChoice(LADDER, { startRung: '360p', trialAfterMs: 15_000 });
    const switches = run(c, () => 1.2 * bps(c.wanted), 60_000);
    expect(switches).toEqual([
      { atMs: 15_000, from: '360p', to: '480p' },
      { atMs: 30_000, from: '480p', to: '720p' },
    ]);
    expect(c.onTrial).toBe(false);
  });

  it('ends a trial above a hard limit after its window, and waits twice as long for the next', () => {
    const c = new RungChoice(LADDER, { startRung: '360p', trialAfterMs: 15_000 });
    expect(run(c, () => 1_000_000, 260_000)).toEqual([
      { atMs: 15_000, from: '360p', to: '480p' },
      { atMs: 23_000, from: '480p', to: '360p' },
      { atMs: 53_000, from: '360p', to: '480p' },
      { atMs: 61_000, from: '480p', to: '360p' },
      { atMs: 121_000, from: '360p', to: '480p' },
      { atMs: 129_000, from: '480p', to: '360p' },
      // At most trialMaxAfterMs (120 s) apart from then on.
      { atMs: 249_000, from: '360p', to: '480p' },
      { atMs: 257_000, from: '480p', to: '360p' },
    ]);
  });

  it('ends a trial at once when the measured estimate falls (the higher rung congests the link)', () => {
    const c = new RungChoice(LADDER, { startRung: '360p', trialAfterMs: 15_000 });
    const estimate = (t: number): number => (t > 15_000 ? 750_000 : 1_000_000);
    expect(run(c, estimate, 16_000)).toEqual([
      { atMs: 15_000, from: '360p', to: '480p' },
      { atMs: 15_100, from: '480p', to: '360p' },
    ]);
    // What the caller reads into the estimate does not hide a fall of what was measured.
    const d = new RungChoice(LADDER, { startRung: '360p', trialAfterMs: 15_000 });
    const switches: number[] = [];
    for (let t = 0; t <= 16_000; t += 100) {
      const before = d.wanted;
      if (d.update(1_000_000, t, estimate(t)) !== before) switches.push(t);
    }
    expect(switches).toEqual([15_000, 15_100]);
  });

  it('makes no trial while the current rung does not fit, at the top, or when trials are off', () => {
    const off = new RungChoice(LADDER, { startRung: '360p' });
    expect(run(off, () => 1_000_000, 120_000)).toEqual([]);
    const top = new RungChoice(LADDER, { trialAfterMs: 15_000 });
    expect(run(top, () => 3_500_000, 120_000)).toEqual([]);
    const lowest = new RungChoice(LADDER, { startRung: '360p', trialAfterMs: 15_000 });
    expect(run(lowest, () => 500_000, 120_000)).toEqual([]);
  });

  it('ends a trial when pinned; once unpinned the viewer goes on from the pin, as after any pin', () => {
    const c = new RungChoice(LADDER, { startRung: '360p', trialAfterMs: 15_000 });
    expect(run(c, () => 1_000_000, 15_000)).toEqual([{ atMs: 15_000, from: '360p', to: '480p' }]);
    c.pin('720p');
    expect(c.onTrial).toBe(false);
    expect(run(c, () => 1_000_000, 40_000, { fromMs: 15_100 })).toEqual([]);
    c.pin(null);
    expect(c.wanted).toBe('720p');
  });
});

describe('RungChoice: pinning', () => {
  it('lets a pinned rung win over any estimate, and goes on from it once unpinned', () => {
    const c = new RungChoice(LADDER);
    c.pin('360p');
    expect(run(c, () => 10_000_000, 20_000)).toEqual([]);
    expect(c.wanted).toBe('360p');
    c.pin('720p');
    expect(c.update(300_000, 20_100)).toBe('720p');
    c.pin(null);
    expect(c.wanted).toBe('720p');
    expect(run(c, () => 300_000, 22_000, { fromMs: 20_200 })).toEqual([
      { atMs: 21_200, from: '720p', to: '360p' },
    ]);
  });

  it('refuses a rung that is not in the ladder', () => {
    expect(() => new RungChoice(LADDER).pin('1080p')).toThrow(RangeError);
  });
});

describe('RungChoice: a ladder change', () => {
  it('keeps the current rung when it is still there', () => {
    const c = new RungChoice(LADDER, { startRung: '480p' });
    c.setRungs([...LADDER, { name: '1080p', bitrateBps: 5_000_000 }]);
    expect(c.wanted).toBe('480p');
  });

  it('takes the rung nearest in bitrate when the current one is gone', () => {
    const c = new RungChoice(LADDER, { startRung: '480p' });
    c.setRungs([
      { name: '540p', bitrateBps: 1_700_000 },
      { name: '360p', bitrateBps: 796_000 },
      { name: '1080p', bitrateBps: 5_000_000 },
    ]);
    expect(c.wanted).toBe('540p');
  });

  it('drops a pin whose rung is gone and goes on from the nearest', () => {
    const c = new RungChoice(LADDER);
    c.pin('360p');
    c.setRungs([
      { name: '720p', bitrateBps: 2_596_000 },
      { name: '240p', bitrateBps: 400_000 },
    ]);
    expect(c.wanted).toBe('240p');
    expect(c.update(10_000_000, 0)).toBe('240p');
  });

  it('keeps its holds when only the measured bit rates change (they do every half second)', () => {
    const c = new RungChoice(LADDER);
    for (let t = 0; t <= 1500; t += 250) {
      c.setRungs(LADDER.map((r) => ({ ...r, bitrateBps: r.bitrateBps + (t % 500) })));
      c.update(1_000_000, t);
    }
    expect(c.wanted).toBe('360p');
  });

  it('refuses an empty ladder or repeated names', () => {
    expect(() => new RungChoice([])).toThrow(RangeError);
    expect(() => new RungChoice([...LADDER, { name: '360p', bitrateBps: 1 }])).toThrow(RangeError);
    expect(() => new RungChoice(LADDER, { startRung: 'nope' })).toThrow(RangeError);
  });
});

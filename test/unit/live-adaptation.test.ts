import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parsePreset } from '../../src/core/preset.js';
import { degrade, LagMonitor, maxLevel } from '../../src/workers/adaptation.js';
import { planLadder, plannedPreset } from '../../src/workers/ladder-plan.js';

const preset = (id: string) =>
  parsePreset(JSON.parse(readFileSync(new URL(`../../../presets/${id}.json`, import.meta.url), 'utf8')));

describe('live adaptation', () => {
  const p = plannedPreset(
    preset('default'),
    planLadder(preset('default'), { width: 1280, height: 720, fps: 30 }),
  );

  it('steps: a faster x264 preset one level at a time, then the largest rungs out, down to one', () => {
    const steps = Array.from({ length: maxLevel(p, 'x264') + 2 }, (_, l) => degrade(p, l, 'x264'));
    expect(steps.map((s) => [s.preset.encoders.x264.preset, s.preset.ladder.map((r) => r.name)])).toEqual([
      ['veryfast', ['720p', '480p', '360p']],
      ['superfast', ['720p', '480p', '360p']],
      ['ultrafast', ['720p', '480p', '360p']],
      ['ultrafast', ['480p', '360p']],
      ['ultrafast', ['360p']],
      ['ultrafast', ['360p']],
    ]);
    expect(steps[3]!.changes).toEqual(['x264 preset veryfast → ultrafast', 'rung 720p left out']);
  });

  it('on hardware, only rungs go', () => {
    expect(degrade(p, 1, 'nvenc').preset.ladder.map((r) => r.name)).toEqual(['480p', '360p']);
    expect(maxLevel(p, 'nvenc')).toBe(2);
  });
});

describe('LagMonitor', () => {
  const epoch = 1_000_000;
  /** Reports every 500 ms for `seconds`, media advancing `speed` times real time from `lag0` behind. */
  function feed(m: LagMonitor, seconds: number, speed: number, lag0 = 300, t0 = epoch + 1000): string[] {
    const out: string[] = [];
    for (let t = 0; t <= seconds * 1000; t += 500) {
      const now = t0 + t;
      out.push(m.push(now, now - epoch - lag0 - t * (1 - speed), epoch));
    }
    return out;
  }

  it('says ok while the output keeps up, even a little behind', () => {
    expect(feed(new LagMonitor(), 20, 1, 400).every((s) => s === 'ok')).toBe(true);
  });

  it('says slow after 5 s of falling behind, not before', () => {
    const r = feed(new LagMonitor(), 10, 0.8, 900);
    expect(r.indexOf('slow')).toBeGreaterThanOrEqual(10); // 5 s of reports
    expect(r.at(-1)).toBe('slow');
  });

  it('notices a load that came on a moment ago after one window', () => {
    // From 0.3 s behind at 0.8x: over the 1 s grace after 3.5 s; slow once 5 s of reports are in.
    const r = feed(new LagMonitor(), 8, 0.8, 300);
    expect(r.indexOf('slow')).toBe(10);
  });

  it('says slow when it stays far behind, whatever its speed', () => {
    expect(feed(new LagMonitor(), 8, 1, 3500).at(-1)).toBe('slow');
  });

  it('forgives a short hiccup', () => {
    const m = new LagMonitor();
    feed(m, 2, 0.5, 300);
    expect(feed(m, 10, 1.2, 1300, epoch + 3500).at(-1)).toBe('ok');
  });
});

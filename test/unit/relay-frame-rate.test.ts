import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parsePreset, type Preset } from '../../src/core/preset.js';
import { frameRateOf, snapFps } from '../../src/live/relay/body.js';
import { keepFrameRates, planLadder } from '../../src/workers/ladder-plan.js';

const loadPreset = (id: string): Preset =>
  parsePreset(JSON.parse(readFileSync(new URL(`../../../presets/${id}.json`, import.meta.url), 'utf8')));

describe('the frame rate a relay body reports', () => {
  it('snaps to the nearest common rate within 12%, else rounds', () => {
    expect([25, 24.9, 23.976, 29.97, 50, 48, 59.94, 13, 37.4].map(snapFps)).toEqual([
      25, 25, 24, 30, 50, 48, 60, 12, 37,
    ]);
  });

  it('reads the rate off frame timestamps: the median interval, from three frames', () => {
    expect(frameRateOf([0, 40_000])).toBeNull();
    expect(frameRateOf([0, 40_000, 80_000])).toBe(25);
    // A dropped frame does not halve it.
    expect(frameRateOf([0, 33_333, 66_667, 133_333, 166_667, 200_000])).toBe(30);
  });
});

describe('keepFrameRates', () => {
  it('keeps each rung’s first planned rate when a later run re-plans', () => {
    const preset = loadPreset('default');
    const first = planLadder(preset, { width: 1280, height: 720, fps: 30 });
    const rates = new Map(first.rungs.map((r) => [r.name, r.fps]));
    const later = keepFrameRates(planLadder(preset, { width: 1280, height: 720, fps: 20 }), rates);
    expect(later.rungs.map((r) => r.fps)).toEqual(first.rungs.map(() => 30));
    expect(keepFrameRates(first, null)).toBe(first);
  });
});

import { describe, expect, it } from '@jest/globals';
import { fragSeconds, partFrames } from '../../src/core/part-frames.js';
import { encodedPartTargetFor } from '../../src/packager/live/targets.js';

describe('partFrames', () => {
  it.each([
    // fps, partSeconds, gopSeconds → frames per part
    [30, 0.333, 2, 10],
    [29.97, 0.333, 2, 10],
    [60, 0.333, 2, 20],
    [24, 0.333, 2, 8],
    [23.976, 0.333, 2, 8],
    [15, 0.333, 2, 5],
    [25, 0.333, 2, 10],
    [20, 0.333, 2, 8],
    [12.5, 0.333, 2, 5],
    [50, 0.333, 2, 17],
    [30, 0.2, 1, 6],
    [25, 0.2, 1, 5],
    [1, 0.333, 2, 1],
  ])('%s fps, %s s parts, %s s GOPs: %s frames', (fps, part, gop, frames) => {
    expect(partFrames(fps, part, gop)).toBe(frames);
  });

  it('leaves no part before a key frame under 85% of a whole one, at the usual frame rates', () => {
    for (const fps of [5, 10, 12, 15, 20, 23.976, 24, 25, 29.97, 30, 48, 50, 59.94, 60]) {
      for (const [part, gop] of [
        [0.333, 2],
        [0.2, 1],
        [0.5, 2],
      ] as const) {
        const p = partFrames(fps, part, gop);
        const g = Math.ceil(fps * gop - 1e-6);
        const rest = g % p;
        if (rest !== 0 && rest < 0.85 * p)
          throw new Error(`${fps} fps ${part}/${gop}: ${p} frames, ${rest} left`);
      }
    }
  });

  it('closes a fragment half a frame before the next part starts', () => {
    expect(fragSeconds(10, 25)).toBeCloseTo(0.38, 9);
  });

  it('gives the live packager the PART-TARGET of those parts', () => {
    expect(encodedPartTargetFor(0.333, 1 / 25, 2)).toBe(0.4);
    expect(encodedPartTargetFor(0.333, 1 / 30, 2)).toBe(0.334);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parsePreset, type Preset } from '../../src/core/preset.js';
import { displaySize, planLadder } from '../../src/workers/ladder-plan.js';

const preset = (id: string): Preset =>
  parsePreset(JSON.parse(readFileSync(new URL(`../../../presets/${id}.json`, import.meta.url), 'utf8')));
const DEFAULT = preset('default');
const sizes = (p: ReturnType<typeof planLadder>) =>
  p.rungs.map((r) => `${r.name}:${r.width}x${r.height}@${r.fps}`);

describe('the source-aware ladder', () => {
  it('drops rungs above a 720p source and keeps 16:9', () => {
    const p = planLadder(DEFAULT, { width: 1280, height: 720, fps: 30 });
    expect(sizes(p)).toEqual(['720p:1280x720@30', '480p:854x480@30', '360p:640x360@30']);
    expect(p.dropped).toEqual([{ name: '1080p', reason: expect.stringMatching(/larger than the source/) }]);
  });

  it('keeps a portrait phone portrait', () => {
    const p = planLadder(DEFAULT, { width: 720, height: 1280, fps: 30 });
    expect(sizes(p)).toEqual(['720p:720x1280@30', '480p:480x854@30', '360p:360x640@30']);
  });

  it('keeps 4:3, and a file rotated by its metadata', () => {
    expect(sizes(planLadder(DEFAULT, { width: 1440, height: 1080, fps: 25 }))).toEqual([
      '1080p:1440x1080@25',
      '720p:960x720@25',
      '480p:640x480@25',
      '360p:480x360@25',
    ]);
    // A phone video stored landscape with rotation 90: displayed portrait.
    expect(sizes(planLadder(DEFAULT, { width: 1920, height: 1080, rotation: 90, fps: 30 }))[0]).toBe(
      '1080p:1080x1920@30',
    );
  });

  it('applies the pixel shape (anamorphic DV: 720x576 with SAR 16:15 is 768x576)', () => {
    expect(displaySize({ width: 720, height: 576, sar: { num: 16, den: 15 } })).toEqual({
      width: 768,
      height: 576,
    });
    expect(
      sizes(planLadder(DEFAULT, { width: 720, height: 576, sar: { num: 16, den: 15 }, fps: 25 })),
    ).toEqual(['480p:640x480@25', '360p:480x360@25']);
  });

  it('never goes above the source frame rate', () => {
    expect(planLadder(DEFAULT, { width: 1920, height: 1080, fps: 15 }).rungs.every((r) => r.fps === 15)).toBe(
      true,
    );
  });

  it('keeps one rung, at the source size, for a tiny webcam', () => {
    const p = planLadder(DEFAULT, { width: 320, height: 180, fps: 30 });
    expect(sizes(p)).toEqual(['360p:320x180@30']);
    expect(p.rungs[0]!.videoBitrateKbps).toBe(200); // 800 kb/s for 640x360, a quarter of the pixels
    expect(p.dropped.map((d) => d.name)).toEqual(['1080p', '720p', '480p']);
  });

  it('holds for any source: even sizes, aspect kept, none larger than the source, at least one rung', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 4096 }),
        fc.integer({ min: 16, max: 4096 }),
        fc.constantFrom(0, 90, 180, 270),
        fc.double({ min: 1, max: 120, noNaN: true }),
        (width, height, rotation, fps) => {
          const p = planLadder(DEFAULT, { width, height, rotation, fps });
          expect(p.rungs.length).toBeGreaterThanOrEqual(1);
          const d = p.display;
          for (const r of p.rungs) {
            expect((r.width % 2) + (r.height % 2)).toBe(0);
            expect(r.fps).toBeLessThanOrEqual(Math.max(1, fps) + 1e-6);
            expect(Math.min(r.width, r.height)).toBeLessThanOrEqual(Math.min(d.width, d.height) + 2);
            // Same orientation, aspect within rounding (or the encodable bounds).
            expect(r.height > r.width).toBe(
              d.height > d.width && r.height !== r.width ? true : r.height > r.width,
            );
            if (Math.max(r.width, r.height) < 3840) {
              const want = d.width / d.height;
              expect(Math.abs(r.width / r.height - want) / want).toBeLessThan(
                0.05 + 4 / Math.min(r.width, r.height),
              );
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

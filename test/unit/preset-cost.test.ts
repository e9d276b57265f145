import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/core/errors.js';
import { packageRoot } from '../../src/core/paths.js';
import { parsePreset, type PresetInput } from '../../src/core/preset.js';
import { checkPresetCost, presetCost } from '../../src/core/presets/cost.js';

const rung = (width: number, height: number, fps: number, codec: 'h264' | 'hevc' | 'av1' = 'h264') => ({
  width,
  height,
  fps,
  videoBitrateKbps: 5000,
  codec,
});

const preset = (over: Partial<PresetInput>): PresetInput => ({
  id: 'p',
  name: 'P',
  ladder: [rung(1920, 1080, 30)],
  ...over,
});

describe('what a preset costs a worker', () => {
  it('is encoded megapixels per second, weighted by the x264 speed and the codec', () => {
    const p = parsePreset(
      preset({
        ladder: [rung(1920, 1080, 30), rung(1280, 720, 30, 'hevc')],
        encoders: { x264: { preset: 'medium' } },
      }),
    );
    const c = presetCost(p);
    // medium is 105/48 = 2.19x veryfast: 62.2 x 2.19; 27.6 x 2.19 x 4 (libx265)
    expect(c.rungs.map((r) => r.cost)).toEqual([136.1, 241.9]);
    expect(c.total).toBe(378);
  });

  it('counts raw pixels for a preset that requires hardware (never x264)', () => {
    const p = parsePreset(
      preset({
        ladder: [rung(3840, 2160, 60, 'av1')],
        hardware: { policy: 'require' },
        encoders: { x264: { preset: 'veryslow' } },
      }),
    );
    expect(presetCost(p).total).toBe(497.7);
  });

  it('lets every built-in preset under the default ceiling', () => {
    const dir = path.join(packageRoot(), 'presets');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const p = parsePreset(JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
      expect({ f, ok: presetCost(p).total <= 1000 }).toEqual({ f, ok: true });
    }
  });

  it('refuses six 4K60 AV1 rungs at veryslow, naming the costliest rung and what each costs', () => {
    const p = parsePreset(
      preset({
        ladder: [3840, 3200, 2560, 1920, 1280, 640].map((w, i) => ({
          ...rung(w, (w * 9) / 16, 60, 'av1'),
          name: `r${i}`,
        })),
        encoders: { x264: { preset: 'veryslow' } },
      }),
    );
    let err: unknown;
    try {
      checkPresetCost(p, 1000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    expect(e.code).toBe('validation_failed');
    expect(e.field).toBe('ladder.0');
    expect(e.message).toMatch(
      /^ladder\.0: this preset costs [\d.]+ weighted megapixels per second, over the 1000/,
    );
    expect(e.message).toMatch(/MAX_PRESET_COST/);
    expect(e.message).toContain('ladder.0 (r0: 3840x2160 at 60 fps, av1 at veryslow) costs 26127.4');
    expect(e.message).toContain('ladder.5 (r5: 640x360 at 60 fps, av1 at veryslow) costs 725.8');
    expect(() => checkPresetCost(parsePreset(preset({})), 1000)).not.toThrow();
  });
});

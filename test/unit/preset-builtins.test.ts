import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { PresetSchema, rungName, type Preset } from '../../src/core/preset.js';
import { defaultBuiltInDir } from '../../src/core/presets/store.js';

const dir = defaultBuiltInDir();
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (id: string): Preset =>
  PresetSchema.parse(JSON.parse(readFileSync(path.join(dir, `${id}.json`), 'utf8')));

describe('built-in presets (presets/*.json)', () => {
  it('are the four the README promises', () => {
    expect(files.sort()).toEqual(['default.json', 'light.json', 'low-latency.json', 'passthrough.json']);
  });

  it.each(files)('%s is valid, complete and named after its id', (file) => {
    const raw: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    const parsed = PresetSchema.safeParse(raw);
    expect(parsed.error?.issues ?? []).toEqual([]);
    // Written out in full, so reading the file tells the whole story (no hidden defaults).
    expect(parsed.data).toEqual(raw);
    expect(parsed.data?.id).toBe(path.basename(file, '.json'));
  });

  it.each(files)('%s: rungs from largest to smallest, 16:9, GOPs a whole number of frames', (file) => {
    const p = load(path.basename(file, '.json'));
    const heights = p.ladder.map((r) => r.height);
    expect([...heights].sort((a, b) => b - a)).toEqual(heights);
    const bitrates = p.ladder.map((r) => r.videoBitrateKbps);
    expect([...bitrates].sort((a, b) => b - a)).toEqual(bitrates);
    for (const r of p.ladder) {
      expect(Math.abs(r.width / r.height - 16 / 9)).toBeLessThan(0.01);
      expect(Number.isInteger(r.fps * p.gopSeconds)).toBe(true);
    }
  });

  it('default: 1080p to 360p in H.264 at 30 fps, 2 s GOP, 4 s segments, 1/3 s parts', () => {
    const p = load('default');
    expect(p.ladder.map(rungName)).toEqual(['1080p', '720p', '480p', '360p']);
    expect(p.ladder.map((r) => r.videoBitrateKbps)).toEqual([5000, 2800, 1400, 800]);
    expect(p.ladder.map((r) => r.profile)).toEqual(['high', 'high', 'main', 'main']);
    expect(p.ladder.every((r) => r.codec === 'h264' && r.fps === 30)).toBe(true);
    expect(p.audio).toEqual({ codec: 'aac', bitrateKbps: 128, channels: 2, sampleRate: 48000 });
    expect([p.gopSeconds, p.segmentSeconds, p.partSeconds]).toEqual([2, 4, 0.333]);
  });

  it('low-latency: 720p to 360p, 1 s GOP, 2 s segments, 0.2 s parts, x264 zerolatency', () => {
    const p = load('low-latency');
    expect(p.ladder.map(rungName)).toEqual(['720p', '480p', '360p']);
    expect([p.gopSeconds, p.segmentSeconds, p.partSeconds]).toEqual([1, 2, 0.2]);
    expect(p.encoders.x264).toEqual({ preset: 'veryfast', tune: 'zerolatency' });
  });

  it('light: two small rungs with a fast x264 preset', () => {
    const p = load('light');
    expect(p.ladder.map(rungName)).toEqual(['360p', '240p']);
    expect(['superfast', 'ultrafast']).toContain(p.encoders.x264.preset);
  });

  it('passthrough: passes the layers through, with a 720p and 360p ladder to fall back on', () => {
    const p = load('passthrough');
    expect(p.passthrough).toBe(true);
    expect(p.ladder.map(rungName)).toEqual(['720p', '360p']);
    expect(p.audio.codec).toBe('aac');
    // Only the ladder presets say nothing about it: absent reads as false.
    expect(['default', 'low-latency', 'light'].map((id) => load(id).passthrough)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

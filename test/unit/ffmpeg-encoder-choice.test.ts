import { describe, expect, it } from '@jest/globals';
import type { HwaccelSetting } from '../../src/core/config.js';
import { AppError } from '../../src/core/errors.js';
import { parsePreset, type EncoderFamily, type PresetInput } from '../../src/core/preset.js';
import { chooseEncoder } from '../../src/workers/ffmpeg/encoder-choice.js';

function preset(hardware: PresetInput['hardware'], codec: 'h264' | 'av1' = 'h264') {
  return parsePreset({
    id: 'p',
    name: 'p',
    ladder: [{ width: 640, height: 360, fps: 30, videoBitrateKbps: 800, codec }],
    hardware,
  });
}

function thrown(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

const X264: EncoderFamily[] = ['x264'];
const ALL: EncoderFamily[] = ['x264', 'nvenc', 'vaapi', 'qsv'];

describe('chooseEncoder', () => {
  it('policy never: x264 even where hardware is proven', () => {
    expect(chooseEncoder(preset({ policy: 'never' }), ALL, 'auto')).toEqual({
      family: 'x264',
      fallback: false,
    });
  });

  it('prefer: the first proven hardware family HWACCEL allows', () => {
    expect(chooseEncoder(preset({ policy: 'prefer' }), ALL, 'auto')).toEqual({
      family: 'nvenc',
      fallback: false,
    });
    expect(chooseEncoder(preset({ policy: 'prefer' }), ['x264', 'qsv'], 'auto')).toEqual({
      family: 'qsv',
      fallback: false,
    });
    expect(chooseEncoder(preset({ policy: 'prefer' }), ALL, 'vaapi')).toEqual({
      family: 'vaapi',
      fallback: false,
    });
  });

  it("prefer: the preset's own family when it is proven", () => {
    expect(chooseEncoder(preset({ policy: 'prefer', family: 'vaapi' }), ALL, 'auto')).toEqual({
      family: 'vaapi',
      fallback: false,
    });
  });

  it.each<[PresetInput['hardware'], EncoderFamily[], HwaccelSetting, string]>([
    [
      { policy: 'prefer' },
      X264,
      'auto',
      "preset p prefers a hardware encoder, but this worker's probe proved only: x264",
    ],
    [
      { policy: 'prefer', family: 'nvenc' },
      ['x264', 'vaapi'],
      'auto',
      "prefers nvenc, but this worker's probe proved only: x264, vaapi",
    ],
    [{ policy: 'prefer' }, ALL, 'none', 'HWACCEL=none forbids hardware encoders'],
    [{ policy: 'prefer', family: 'nvenc' }, ALL, 'qsv', 'HWACCEL=qsv allows only qsv'],
  ])('prefer %j with %j and HWACCEL=%s falls back to x264, saying why', (hw, proven, hwaccel, reason) => {
    const choice = chooseEncoder(preset(hw), proven, hwaccel);
    expect(choice.family).toBe('x264');
    expect(choice.fallback).toBe(true);
    expect(choice.reason).toContain(reason);
  });

  it('prefer with an av1 rung runs on x264: ffmpeg 5.1 has no hardware av1 encoder', () => {
    const choice = chooseEncoder(preset({ policy: 'prefer' }, 'av1'), ALL, 'auto');
    expect(choice).toMatchObject({ family: 'x264', fallback: true });
    expect(choice.reason).toMatch(/av1/);
  });

  it('require: the family when proven', () => {
    expect(chooseEncoder(preset({ policy: 'require', family: 'nvenc' }), ALL, 'auto')).toEqual({
      family: 'nvenc',
      fallback: false,
    });
    expect(chooseEncoder(preset({ policy: 'require' }), ['x264', 'vaapi'], 'auto')).toEqual({
      family: 'vaapi',
      fallback: false,
    });
  });

  it.each<[PresetInput['hardware'], EncoderFamily[], HwaccelSetting, string]>([
    [
      { policy: 'require', family: 'nvenc' },
      X264,
      'auto',
      "preset p requires nvenc, but this worker's probe proved only: x264",
    ],
    [
      { policy: 'require' },
      X264,
      'auto',
      "preset p requires a hardware encoder, but this worker's probe proved only: x264",
    ],
    [
      { policy: 'require', family: 'nvenc' },
      ALL,
      'none',
      'preset p requires nvenc, but HWACCEL=none forbids hardware encoders',
    ],
    [
      { policy: 'require', family: 'nvenc' },
      ALL,
      'vaapi',
      'preset p requires nvenc, but HWACCEL=vaapi allows only vaapi',
    ],
    [
      { policy: 'require' },
      [],
      'auto',
      "preset p requires a hardware encoder, but this worker's probe proved only: nothing",
    ],
  ])('require %j with %j and HWACCEL=%s throws hardware_unavailable', (hw, proven, hwaccel, message) => {
    const e = thrown(() => chooseEncoder(preset(hw), proven, hwaccel));
    expect(e.code).toBe('hardware_unavailable');
    expect(e.message).toBe(message);
  });

  it('require with an av1 rung throws', () => {
    const e = thrown(() => chooseEncoder(preset({ policy: 'require' }, 'av1'), ALL, 'auto'));
    expect(e.code).toBe('hardware_unavailable');
    expect(e.message).toMatch(/av1 has no hardware encoder/);
  });

  it('throws when even x264 is missing', () => {
    const e = thrown(() => chooseEncoder(preset({ policy: 'never' }), [], 'auto'));
    expect(e.code).toBe('hardware_unavailable');
    expect(e.message).toMatch(/libx264/);
    expect(thrown(() => chooseEncoder(preset({ policy: 'prefer' }), [], 'none')).code).toBe(
      'hardware_unavailable',
    );
  });
});

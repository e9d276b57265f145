import type { HwaccelSetting } from '../../core/config.js';
import { AppError } from '../../core/errors.js';
import {
  HARDWARE_FAMILIES,
  type EncoderFamily,
  type HardwareFamily,
  type Preset,
} from '../../core/preset.js';

export interface EncoderChoice {
  family: EncoderFamily;
  /** True when the preset preferred hardware and runs on x264 instead. */
  fallback: boolean;
  /** Why hardware was not used, for the job's log and view; set when fallback is. */
  reason?: string;
}

/**
 * Which encoder family runs a preset on this worker. Unlike Owncast, a preset that
 * requires hardware never silently lands on x264: it fails with a message that names
 * what was asked for and what the probe proved.
 *
 * @param provenFamilies Capabilities.families: what this worker's test encodes proved.
 * @param hwaccel The HWACCEL setting: `none` forbids hardware, a family name allows only it.
 */
export function chooseEncoder(
  preset: Preset,
  provenFamilies: readonly EncoderFamily[],
  hwaccel: HwaccelSetting,
): EncoderChoice {
  const { policy, family: wanted } = preset.hardware;
  const proven = provenFamilies.length > 0 ? provenFamilies.join(', ') : 'nothing';
  if (policy === 'never') return software(preset, provenFamilies, proven);

  const asked = wanted ?? 'a hardware encoder';
  const refuse = (why: string): EncoderChoice => {
    const message = `preset ${preset.id} ${policy === 'require' ? 'requires' : 'prefers'} ${asked}, but ${why}`;
    if (policy === 'require') throw new AppError('hardware_unavailable', message);
    return { ...software(preset, provenFamilies, proven), fallback: true, reason: message };
  };

  // ffmpeg 5.1 has no hardware AV1 encoder, whatever the machine.
  if (preset.ladder.some((r) => r.codec === 'av1'))
    return refuse('av1 has no hardware encoder in ffmpeg 5.1');
  const allowed = allowedByHwaccel(hwaccel);
  const candidates = (wanted === undefined ? [...HARDWARE_FAMILIES] : [wanted]).filter((f) =>
    allowed.includes(f),
  );
  if (candidates.length === 0) {
    return refuse(
      hwaccel === 'none'
        ? 'HWACCEL=none forbids hardware encoders'
        : `HWACCEL=${hwaccel} allows only ${hwaccel}`,
    );
  }
  const family = candidates.find((f) => provenFamilies.includes(f));
  if (family === undefined) return refuse(`this worker's probe proved only: ${proven}`);
  return { family, fallback: false };
}

/** The hardware families HWACCEL lets presets use (`auto`: all, `none`: none, else that one). */
export function allowedByHwaccel(hwaccel: HwaccelSetting): readonly HardwareFamily[] {
  if (hwaccel === 'none') return [];
  if (hwaccel === 'auto') return HARDWARE_FAMILIES;
  return [hwaccel];
}

function software(preset: Preset, provenFamilies: readonly EncoderFamily[], proven: string): EncoderChoice {
  if (!provenFamilies.includes('x264')) {
    throw new AppError(
      'hardware_unavailable',
      `preset ${preset.id} needs the x264 family (libx264), but this worker's probe proved only: ${proven}`,
    );
  }
  return { family: 'x264', fallback: false };
}

import type { Preset, Rung } from '../../core/preset.js';
import { hardwareCodec, type FamilyArgs } from './args-family.js';

/** The QSV encoders' own -preset names (1 veryslow to 7 veryfast). */
const QSV_PRESET: Record<Preset['encoders']['qsv']['quality'], string> = {
  quality: 'slower',
  balanced: 'medium',
  speed: 'veryfast',
};

/** Intel Quick Sync: decode, vpp_qsv scaling and encode in QSV surfaces. */
export const qsvArgs: FamilyArgs = {
  family: 'qsv',

  inputOptions: () => ['-hwaccel', 'qsv', '-hwaccel_output_format', 'qsv'],

  scaleFilter: (rung) => `vpp_qsv=w=${rung.width}:h=${rung.height}`,

  encoderOptions(rung: Rung, preset: Preset): string[] {
    return [
      ...['-c:v', hardwareCodec('qsv', rung.codec, { h264: 'h264_qsv', hevc: 'hevc_qsv' })],
      ...['-preset', QSV_PRESET[preset.encoders.qsv.quality]],
      ...(rung.profile === undefined ? [] : ['-profile:v', rung.profile]),
      ...(rung.codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
      // A forced keyframe must be an IDR so every segment can start a decoder.
      ...['-forced_idr', '1'],
    ];
  },
};

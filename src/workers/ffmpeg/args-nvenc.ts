import type { Preset, Rung } from '../../core/preset.js';
import { hardwareCodec, type FamilyArgs } from './args-family.js';

/** NVIDIA: NVDEC decodes into CUDA frames that stay on the GPU through scaling and NVENC. */
export const nvencArgs: FamilyArgs = {
  family: 'nvenc',

  inputOptions: () => ['-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda'],

  scaleFilter: (rung) => `scale_cuda=${rung.width}:${rung.height}`,

  encoderOptions(rung: Rung, preset: Preset): string[] {
    const { preset: speed, tune } = preset.encoders.nvenc;
    return [
      ...['-c:v', hardwareCodec('nvenc', rung.codec, { h264: 'h264_nvenc', hevc: 'hevc_nvenc' })],
      ...['-preset', speed, '-tune', tune],
      // VBR capped by -maxrate/-bufsize, the same rate model the x264 family gets.
      ...['-rc', 'vbr'],
      ...(rung.profile === undefined ? [] : ['-profile:v', rung.profile]),
      ...(rung.codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
      // A forced keyframe must be an IDR so every segment can start a decoder.
      ...['-forced-idr', '1', '-no-scenecut', '1'],
    ];
  },
};

import { AppError } from '../../core/errors.js';
import type { Preset, Rung } from '../../core/preset.js';
import { hardwareCodec, type FamilyArgs } from './args-family.js';
import type { FfmpegIo } from './types.js';

export const DEFAULT_VAAPI_DEVICE = '/dev/dri/renderD128';
const RENDER_NODE = /^\/dev\/dri\/renderD[0-9]{1,4}$/;

/**
 * VA-API quality level: the driver's speed/quality knob (Intel iHD: 1 best to 7
 * fastest, 4 by default), which ffmpeg exposes as -compression_level.
 */
const COMPRESSION_LEVEL: Record<Preset['encoders']['vaapi']['quality'], string> = {
  quality: '1',
  balanced: '4',
  speed: '7',
};

/** h264_vaapi has no plain baseline: constrained baseline is what players decode anyway. */
const H264_PROFILE: Record<string, string> = {
  baseline: 'constrained_baseline',
  main: 'main',
  high: 'high',
};

function vaapiDevice(io: FfmpegIo): string {
  const dev = io.vaapiDevice ?? DEFAULT_VAAPI_DEVICE;
  if (!RENDER_NODE.test(dev)) {
    throw new AppError(
      'internal',
      `vaapiDevice must be a /dev/dri/renderD* node, got ${JSON.stringify(dev)}`,
    );
  }
  return dev;
}

/** VA-API (Intel, AMD): decode, scale and encode on the render node, frames stay in video memory. */
export const vaapiArgs: FamilyArgs = {
  family: 'vaapi',

  inputOptions: (io) => [
    ...['-hwaccel', 'vaapi', '-hwaccel_device', vaapiDevice(io)],
    ...['-hwaccel_output_format', 'vaapi'],
  ],

  scaleFilter: (rung) => `scale_vaapi=w=${rung.width}:h=${rung.height}`,

  encoderOptions(rung: Rung, preset: Preset): string[] {
    const profile =
      rung.profile === undefined
        ? undefined
        : rung.codec === 'h264'
          ? H264_PROFILE[rung.profile]
          : rung.profile;
    return [
      ...['-c:v', hardwareCodec('vaapi', rung.codec, { h264: 'h264_vaapi', hevc: 'hevc_vaapi' })],
      ...['-rc_mode', 'VBR', '-compression_level', COMPRESSION_LEVEL[preset.encoders.vaapi.quality]],
      ...(profile === undefined ? [] : ['-profile:v', profile]),
      ...(rung.codec === 'hevc' ? ['-tag:v', 'hvc1'] : []),
    ];
  },
};

import { AppError } from '../../core/errors.js';
import type { EncoderFamily, Preset, Rung, VideoCodec } from '../../core/preset.js';
import type { FfmpegIo } from './types.js';

/**
 * What differs between encoder families, Owncast-style: one implementation per file
 * (args-x264.ts, args-nvenc.ts, args-vaapi.ts, args-qsv.ts). Everything common to all
 * of them (maps, GOP alignment, rate control numbers, muxing) lives in args.ts, so a
 * family cannot forget keyframe alignment.
 */
export interface FamilyArgs {
  readonly family: EncoderFamily;
  /** Options before `-i`: hardware decoding straight into the family's frames. */
  inputOptions(io: FfmpegIo): string[];
  /** The filters after `fps=` that turn one split branch into the rung's size and pixel format. */
  scaleFilter(rung: Rung): string;
  /**
   * `-c:v` and the family's own options for one rung. Bit rates, GOP length and forced
   * keyframes are added by args.ts for every family. `io.live` asks for the family's
   * low-latency mode where the preset leaves room for it.
   */
  encoderOptions(rung: Rung, preset: Preset, io: FfmpegIo): string[];
}

/** ffmpeg 5.1 has no hardware AV1 encoder (av1_nvenc, av1_vaapi, av1_qsv came in 6.0). */
export function hardwareCodec(
  family: EncoderFamily,
  codec: VideoCodec,
  encoders: Record<'h264' | 'hevc', string>,
): string {
  if (codec === 'av1') {
    throw new AppError(
      'hardware_unavailable',
      `av1 has no ${family} encoder in this ffmpeg: use the x264 family (libsvtav1) or h264/hevc`,
    );
  }
  return encoders[codec];
}

/** `-b:v`-style value; the preset schema keeps these whole numbers. */
export function kbps(n: number): string {
  return `${n}k`;
}

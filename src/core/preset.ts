import { z } from 'zod';
import { PRESET_ID } from './ids.js';

/**
 * A preset: the ladder, codecs, encoder settings and HLS timing. Every field that
 * reaches an ffmpeg argument is a number in a range or a member of an enum, so a
 * valid preset can never smuggle an option into the argument list.
 */
export const VIDEO_CODECS = ['h264', 'hevc', 'av1'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];
export const AUDIO_CODECS = ['aac', 'opus'] as const;
export type AudioCodec = (typeof AUDIO_CODECS)[number];
/** Encoder families: `x264` is the software family (libx264, libx265, libsvtav1). */
export const ENCODER_FAMILIES = ['x264', 'nvenc', 'vaapi', 'qsv'] as const;
export type EncoderFamily = (typeof ENCODER_FAMILIES)[number];
/** An encoder family in a response (jobs, workers, capabilities). */
export const EncoderFamilySchema = z.enum(ENCODER_FAMILIES);
export const HARDWARE_FAMILIES = ['nvenc', 'vaapi', 'qsv'] as const;
export type HardwareFamily = (typeof HARDWARE_FAMILIES)[number];

export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;
export const X264_TUNES = ['film', 'animation', 'grain', 'stillimage', 'fastdecode', 'zerolatency'] as const;
export const NVENC_PRESETS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'] as const;
export const NVENC_TUNES = ['hq', 'll', 'ull'] as const;
/** VA-API and QSV speed/quality trade-off, mapped per family by the argument builder. */
export const HW_QUALITIES = ['speed', 'balanced', 'quality'] as const;

export const PROFILES: Record<VideoCodec, readonly string[]> = {
  h264: ['baseline', 'main', 'high'],
  hevc: ['main'],
  av1: ['main'],
};

export const RUNG_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const even = (max: number, what: string) =>
  z
    .number()
    .int(`${what} must be a whole number`)
    .min(16, `${what} must be at least 16`)
    .max(max, `${what} must be at most ${max}`)
    .refine((n) => n % 2 === 0, `${what} must be even`);

const kbps = (min: number, max: number) => z.number().int('must be a whole number of kb/s').min(min).max(max);

export const RungSchema = z
  .strictObject({
    name: z.string().regex(RUNG_NAME, 'must match ^[a-z0-9][a-z0-9_-]{0,31}$').optional(),
    width: even(3840, 'width'),
    height: even(2160, 'height'),
    fps: z
      .number()
      .min(1)
      .max(60)
      .refine((n) => Math.abs(n * 1000 - Math.round(n * 1000)) < 1e-6, 'may have at most 3 decimals'),
    videoBitrateKbps: kbps(100, 20_000),
    maxrateKbps: kbps(100, 40_000).optional(),
    bufsizeKbps: kbps(100, 80_000).optional(),
    codec: z.enum(VIDEO_CODECS).default('h264'),
    profile: z.enum(['baseline', 'main', 'high']).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.maxrateKbps !== undefined && r.maxrateKbps < r.videoBitrateKbps) {
      ctx.addIssue({ code: 'custom', path: ['maxrateKbps'], message: 'must be at least videoBitrateKbps' });
    }
    if (r.profile !== undefined && !PROFILES[r.codec].includes(r.profile)) {
      ctx.addIssue({
        code: 'custom',
        path: ['profile'],
        message: `${r.codec} allows ${PROFILES[r.codec].join(', ')}`,
      });
    }
  });

export const AudioSchema = z.strictObject({
  codec: z.enum(AUDIO_CODECS).default('aac'),
  bitrateKbps: z.number().int().min(16).max(512).default(128),
  channels: z.union([z.literal(1), z.literal(2)]).default(2),
  sampleRate: z.union([z.literal(44100), z.literal(48000)]).default(48000),
});

export const EncoderSettingsSchema = z.strictObject({
  x264: z
    .strictObject({ preset: z.enum(X264_PRESETS).default('veryfast'), tune: z.enum(X264_TUNES).optional() })
    .default({ preset: 'veryfast' }),
  nvenc: z
    .strictObject({ preset: z.enum(NVENC_PRESETS).default('p4'), tune: z.enum(NVENC_TUNES).default('ll') })
    .default({ preset: 'p4', tune: 'll' }),
  vaapi: z
    .strictObject({ quality: z.enum(HW_QUALITIES).default('balanced') })
    .default({ quality: 'balanced' }),
  qsv: z.strictObject({ quality: z.enum(HW_QUALITIES).default('balanced') }).default({ quality: 'balanced' }),
});

export const HardwareSchema = z.strictObject({
  /** prefer: use a proven hardware family, else x264 (flagged on the job); require: fail without one; never: x264. */
  policy: z.enum(['prefer', 'require', 'never']).default('prefer'),
  /** Restrict to one family; unset means any proven one. */
  family: z.enum(HARDWARE_FAMILIES).optional(),
});

export const PresetSchema = z
  .strictObject({
    id: z.string().regex(PRESET_ID, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$'),
    name: z.string().min(1).max(120),
    description: z.string().max(1000).optional(),
    ladder: z.array(RungSchema).min(1, 'needs 1 to 6 rungs').max(6, 'needs 1 to 6 rungs'),
    audio: AudioSchema.default({ codec: 'aac', bitrateKbps: 128, channels: 2, sampleRate: 48000 }),
    gopSeconds: z.number().min(0.25).max(10).default(2),
    segmentSeconds: z.number().min(0.5).max(12).default(4),
    partSeconds: z.number().min(0.1).max(2).default(0.333),
    encoders: EncoderSettingsSchema.default({
      x264: { preset: 'veryfast' },
      nvenc: { preset: 'p4', tune: 'll' },
      vaapi: { quality: 'balanced' },
      qsv: { quality: 'balanced' },
    }),
    hardware: HardwareSchema.default({ policy: 'prefer' }),
    // Live only (a file has no layers): package the publisher's own H.264 (each simulcast
    // layer, or its one stream) as the renditions, copied, never decoded; only audio is
    // encoded. The ladder stays required: it is what the worker transcodes (from the top
    // layer) when the layers cannot be passed through (keyframes not aligned, a codec
    // HLS fMP4 cannot carry), and what a file job gets.
    // Optional, not defaulted: presets without it read back exactly as they were written.
    passthrough: z
      .boolean()
      .optional()
      .describe(
        "Live: the simulcast layers (or the one stream) are the renditions, copied without an encode; only audio is transcoded. Falls back to transcoding the top layer with `ladder` when the layers' key frames are not aligned or the codec is not H.264.",
      ),
  })
  .superRefine((p, ctx) => {
    const ratio = p.segmentSeconds / p.gopSeconds;
    if (Math.abs(ratio - Math.round(ratio)) > 1e-6 || ratio < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['segmentSeconds'],
        message: 'must be a whole multiple of gopSeconds, since segments start at keyframes',
      });
    }
    if (p.partSeconds > p.segmentSeconds / 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['partSeconds'],
        message: 'must be at most half of segmentSeconds',
      });
    }
    const names = new Set<string>();
    p.ladder.forEach((r, i) => {
      const n = rungName(r);
      if (names.has(n)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ladder', i, 'name'],
          message: `rung name ${n} is used twice`,
        });
      }
      names.add(n);
      if (RESERVED_RENDITION_NAMES.includes(n)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ladder', i, 'name'],
          message: `rung name ${n} is taken (${RESERVED_RENDITION_NAMES.join(', ')} name other renditions)`,
        });
      }
    });
  });

export type PresetInput = z.input<typeof PresetSchema>;
export type Preset = z.output<typeof PresetSchema>;
export type Rung = z.output<typeof RungSchema>;
export type AudioSettings = z.output<typeof AudioSchema>;

/** The rendition's name in file names and playlists: its own name or `{height}p`. */
/**
 * The live rendition WHEP viewers of the ladder get their audio from: Opus (WebRTC has
 * no AAC), written beside the HLS audio when that is not Opus; listed in no Multivariant
 * Playlist and in no rendition report.
 */
export const WHEP_AUDIO_RENDITION = 'opus';
/** Rendition names a rung may not take: the audio renditions' and the multivariant playlist's. */
export const RESERVED_RENDITION_NAMES: readonly string[] = ['audio', WHEP_AUDIO_RENDITION, 'index'];

export function rungName(r: Pick<Rung, 'name' | 'height'>): string {
  return r.name ?? `${r.height}p`;
}

export function rungMaxrateKbps(r: Rung): number {
  return r.maxrateKbps ?? Math.round(r.videoBitrateKbps * 1.1);
}

export function rungBufsizeKbps(r: Rung): number {
  return r.bufsizeKbps ?? r.videoBitrateKbps * 2;
}

/** Parse untrusted input into a Preset; throws zod's error (the API maps it to 400 naming the field). */
export function parsePreset(input: unknown): Preset {
  return PresetSchema.parse(input);
}

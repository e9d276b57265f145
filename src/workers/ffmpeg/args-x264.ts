import type { Preset, Rung } from '../../core/preset.js';
import type { FamilyArgs } from './args-family.js';
import type { FfmpegIo } from './types.js';

/** x264 tunes libx265 also knows; film and stillimage have no x265 counterpart. */
const X265_TUNES: ReadonlySet<string> = new Set(['animation', 'grain', 'fastdecode', 'zerolatency']);

/** SVT-AV1 presets (0 slowest to 13 fastest) nearest in spirit to the x264 speed names. */
const SVTAV1_PRESET: Record<Preset['encoders']['x264']['preset'], number> = {
  ultrafast: 12,
  superfast: 11,
  veryfast: 10,
  faster: 9,
  fast: 8,
  medium: 7,
  slow: 6,
  slower: 5,
  veryslow: 4,
};

/** The software family: libx264, libx265 and libsvtav1, decoding and scaling on the CPU. */
export const x264Args: FamilyArgs = {
  family: 'x264',

  inputOptions: () => [],

  // The rung's box, the source fitted inside with its aspect ratio kept and padded, never
  // stretched: the box was planned for the source's shape, and when a browser lowers its
  // resolution mid-session (or a file changes size) the output sizes stay those of the
  // plan. The encoders take 8-bit 4:2:0 whatever the source was (10-bit, 4:2:2, RGB).
  scaleFilter: (rung) =>
    `scale=${rung.width}:${rung.height}:force_original_aspect_ratio=decrease:force_divisible_by=2,` +
    `pad=${rung.width}:${rung.height}:(ow-iw)/2:(oh-ih)/2,format=yuv420p`,

  encoderOptions(rung: Rung, preset: Preset, io: FfmpegIo): string[] {
    const { preset: speed } = preset.encoders.x264;
    const live = io.live !== null;
    const profile = rung.profile === undefined ? [] : ['-profile:v', rung.profile];
    switch (rung.codec) {
      case 'h264': {
        const tune = x264Tune(preset.encoders.x264.tune, live);
        return [
          ...['-c:v', 'libx264', '-preset', speed],
          ...(tune === undefined ? [] : ['-tune', tune]),
          ...profile,
          // Scene cuts would add keyframes in one rung only and break alignment across rungs.
          ...['-sc_threshold', '0', '-forced-idr', '1'],
        ];
      }
      case 'hevc': {
        const tune = x265Tune(preset.encoders.x264.tune, live);
        return [
          ...['-c:v', 'libx265', '-preset', speed],
          ...(tune === undefined ? [] : ['-tune', tune]),
          ...profile,
          // hvc1 (parameter sets in the init segment only) is what Apple players require.
          ...['-tag:v', 'hvc1', '-forced-idr', '1'],
          // libx265 ignores -sc_threshold; it also logs at info level unless told otherwise.
          ...['-x265-params', 'scenecut=0:open-gop=0:log-level=error'],
        ];
      }
      case 'av1':
        return ['-c:v', 'libsvtav1', '-preset', String(SVTAV1_PRESET[speed])];
    }
  },
};

/**
 * Live adds `zerolatency` (no lookahead, no frame-threading delay: x264 otherwise holds
 * rc-lookahead frames, 10 to 60 of them, before the first one comes out). x264 takes
 * one psy tune plus fastdecode and zerolatency as a comma list, so the preset's own tune stays.
 */
export function x264Tune(tune: Preset['encoders']['x264']['tune'], live: boolean): string | undefined {
  if (!live || tune === 'zerolatency') return tune;
  return tune === undefined ? 'zerolatency' : `${tune},zerolatency`;
}

/** libx265 takes one tune: live gets zerolatency unless the preset chose another it knows. */
export function x265Tune(tune: Preset['encoders']['x264']['tune'], live: boolean): string | undefined {
  if (tune !== undefined && X265_TUNES.has(tune)) return tune;
  return live ? 'zerolatency' : undefined;
}

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AppError } from '../../src/core/errors.js';
import {
  AUDIO_CODECS,
  ENCODER_FAMILIES,
  HARDWARE_FAMILIES,
  HW_QUALITIES,
  NVENC_PRESETS,
  NVENC_TUNES,
  PROFILES,
  VIDEO_CODECS,
  X264_PRESETS,
  X264_TUNES,
  parsePreset,
  rungName,
  type PresetInput,
} from '../../src/core/preset.js';
import { buildFfmpegArgs, gopFrames } from '../../src/workers/ffmpeg/args.js';
import type { FfmpegIo } from '../../src/workers/ffmpeg/types.js';

const TWO_RUNGS = parsePreset({
  id: 'two',
  name: 'Two rungs',
  ladder: [
    { width: 1280, height: 720, fps: 30, videoBitrateKbps: 2800, profile: 'high' },
    {
      width: 640,
      height: 360,
      fps: 30,
      videoBitrateKbps: 800,
      maxrateKbps: 1000,
      bufsizeKbps: 1200,
      profile: 'baseline',
    },
  ],
  encoders: { x264: { preset: 'veryfast', tune: 'zerolatency' } },
});

const VOD: FfmpegIo = { input: '/media/in.mp4', live: null, hasAudio: true, firstOutputFd: 3 };

function errorCode(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof AppError ? e.code : String(e);
  }
}

const FORMATS = 'mov,matroska,mpegts,mpeg,flv,avi,asf,ogg,wav,mp3,aac,flac,mxf,ivf';
const MOVFLAGS = '+cmaf+frag_keyframe+empty_moov+default_base_moof+delay_moov+skip_sidx+skip_trailer';

describe('buildFfmpegArgs: the whole argument list per family', () => {
  it('x264', () => {
    // prettier-ignore
    expect(buildFfmpegArgs(TWO_RUNGS, 'x264', VOD)).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
      '-protocol_whitelist', 'file', '-format_whitelist', FORMATS,
      '-i', '/media/in.mp4',
      '-filter_complex',
      '[0:V:0]split=2[s0][s1];[s0]fps=30:start_time=0,scale=1280:720:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=1280:720:(ow-iw)/2:(oh-ih)/2,format=yuv420p,setsar=1[v0];' +
        '[s1]fps=30:start_time=0,scale=640:360:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=640:360:(ow-iw)/2:(oh-ih)/2,format=yuv420p,setsar=1[v1];' +
        '[0:a:0]aresample=async=1:first_pts=0,atrim=start=0.021333[a]',
      '-map', '[v0]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'high',
      '-sc_threshold', '0', '-forced-idr', '1',
      '-b:v', '2800k', '-maxrate', '3080k', '-bufsize', '5600k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:3',
      '-map', '[v1]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'baseline',
      '-sc_threshold', '0', '-forced-idr', '1',
      '-b:v', '800k', '-maxrate', '1000k', '-bufsize', '1200k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:4',
      '-map', '[a]',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:5',
    ]);
  });

  it('nvenc', () => {
    // prettier-ignore
    expect(buildFfmpegArgs(TWO_RUNGS, 'nvenc', VOD)).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
      '-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda',
      '-protocol_whitelist', 'file', '-format_whitelist', FORMATS,
      '-i', '/media/in.mp4',
      '-filter_complex',
      '[0:V:0]split=2[s0][s1];[s0]fps=30:start_time=0,scale_cuda=1280:720,setsar=1[v0];' +
        '[s1]fps=30:start_time=0,scale_cuda=640:360,setsar=1[v1];' +
        '[0:a:0]aresample=async=1:first_pts=0,atrim=start=0.021333[a]',
      '-map', '[v0]',
      '-c:v', 'h264_nvenc', '-preset', 'p4', '-tune', 'll', '-rc', 'vbr', '-profile:v', 'high',
      '-forced-idr', '1', '-no-scenecut', '1',
      '-b:v', '2800k', '-maxrate', '3080k', '-bufsize', '5600k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:3',
      '-map', '[v1]',
      '-c:v', 'h264_nvenc', '-preset', 'p4', '-tune', 'll', '-rc', 'vbr', '-profile:v', 'baseline',
      '-forced-idr', '1', '-no-scenecut', '1',
      '-b:v', '800k', '-maxrate', '1000k', '-bufsize', '1200k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:4',
      '-map', '[a]',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:5',
    ]);
  });

  it('vaapi', () => {
    // prettier-ignore
    expect(buildFfmpegArgs(TWO_RUNGS, 'vaapi', VOD)).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
      '-hwaccel', 'vaapi', '-hwaccel_device', '/dev/dri/renderD128', '-hwaccel_output_format', 'vaapi',
      '-protocol_whitelist', 'file', '-format_whitelist', FORMATS,
      '-i', '/media/in.mp4',
      '-filter_complex',
      '[0:V:0]split=2[s0][s1];[s0]fps=30:start_time=0,scale_vaapi=w=1280:h=720,setsar=1[v0];' +
        '[s1]fps=30:start_time=0,scale_vaapi=w=640:h=360,setsar=1[v1];' +
        '[0:a:0]aresample=async=1:first_pts=0,atrim=start=0.021333[a]',
      '-map', '[v0]',
      '-c:v', 'h264_vaapi', '-rc_mode', 'VBR', '-compression_level', '4', '-profile:v', 'high',
      '-b:v', '2800k', '-maxrate', '3080k', '-bufsize', '5600k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:3',
      '-map', '[v1]',
      '-c:v', 'h264_vaapi', '-rc_mode', 'VBR', '-compression_level', '4',
      '-profile:v', 'constrained_baseline',
      '-b:v', '800k', '-maxrate', '1000k', '-bufsize', '1200k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:4',
      '-map', '[a]',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:5',
    ]);
  });

  it('qsv', () => {
    // prettier-ignore
    expect(buildFfmpegArgs(TWO_RUNGS, 'qsv', VOD)).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
      '-hwaccel', 'qsv', '-hwaccel_output_format', 'qsv',
      '-protocol_whitelist', 'file', '-format_whitelist', FORMATS,
      '-i', '/media/in.mp4',
      '-filter_complex',
      '[0:V:0]split=2[s0][s1];[s0]fps=30:start_time=0,vpp_qsv=w=1280:h=720,setsar=1[v0];' +
        '[s1]fps=30:start_time=0,vpp_qsv=w=640:h=360,setsar=1[v1];' +
        '[0:a:0]aresample=async=1:first_pts=0,atrim=start=0.021333[a]',
      '-map', '[v0]',
      '-c:v', 'h264_qsv', '-preset', 'medium', '-profile:v', 'high', '-forced_idr', '1',
      '-b:v', '2800k', '-maxrate', '3080k', '-bufsize', '5600k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:3',
      '-map', '[v1]',
      '-c:v', 'h264_qsv', '-preset', 'medium', '-profile:v', 'baseline', '-forced_idr', '1',
      '-b:v', '800k', '-maxrate', '1000k', '-bufsize', '1200k',
      '-g', '60', '-keyint_min', '60', '-force_key_frames', 'expr:gte(t,n_forced*2)', '-bf', '0',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:4',
      '-map', '[a]',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-ar', '48000',
      '-map_metadata', '-1', '-map_chapters', '-1',
      '-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '333000',
      'pipe:5',
    ]);
  });

  it('live x264: the relay format, low-delay input', () => {
    const args = buildFfmpegArgs(TWO_RUNGS, 'x264', {
      input: 'tcp://127.0.0.1:41000',
      live: { format: 'mpegts' },
      hasAudio: true,
      firstOutputFd: 3,
    });
    // prettier-ignore
    expect(args.slice(0, args.indexOf('-map'))).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
      '-f', 'mpegts', '-protocol_whitelist', 'tcp',
      '-fflags', 'nobuffer', '-flags', 'low_delay',
      '-probesize', '1000000', '-analyzeduration', '1000000', '-thread_queue_size', '512',
      '-rw_timeout', '10000000',
      '-i', 'tcp://127.0.0.1:41000',
      '-filter_complex',
      '[0:V:0]split=2[s0][s1];[s0]fps=30:start_time=0,scale=1280:720:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=1280:720:(ow-iw)/2:(oh-ih)/2,format=yuv420p,setsar=1[v0];' +
        '[s1]fps=30:start_time=0,scale=640:360:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=640:360:(ow-iw)/2:(oh-ih)/2,format=yuv420p,setsar=1[v1];' +
        '[0:a:0]aresample=async=1:first_pts=0,atrim=start=0.021333[a]',
    ]);
    expect(args.filter((a) => a === '-bf')).toHaveLength(2);
    expect(args[args.indexOf('-bf') + 1]).toBe('0');
    expect(args.slice(args.lastIndexOf('-map'), args.lastIndexOf('-map') + 2)).toEqual(['-map', '[a]']);
    expect(args).not.toContain('-re');
  });

  it('live from the relay on stdin: matroska, no probing, no nobuffer, no read timeout', () => {
    const args = buildFfmpegArgs(TWO_RUNGS, 'x264', {
      input: 'pipe:0',
      live: { format: 'matroska' },
      hasAudio: false,
      firstOutputFd: 3,
    });
    // prettier-ignore
    expect(args.slice(0, args.indexOf('-filter_complex'))).toEqual([
      '-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
      '-f', 'matroska', '-protocol_whitelist', 'pipe',
      '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0', '-thread_queue_size', '512',
      '-i', 'pipe:0',
    ]);
    expect(args).not.toContain('nobuffer');
    expect(args.filter((a) => a.startsWith('pipe:'))).toEqual(['pipe:1', 'pipe:0', 'pipe:3', 'pipe:4']);
  });

  it.each([
    [undefined, 'zerolatency'],
    ['zerolatency', 'zerolatency'],
    ['film', 'film,zerolatency'],
    ['fastdecode', 'fastdecode,zerolatency'],
  ] as const)('live x264 with tune %s encodes with -tune %s; VOD keeps the preset tune', (tune, want) => {
    const p = parsePreset({
      id: 'tuned',
      name: 'tuned',
      ladder: [{ width: 640, height: 360, fps: 30, videoBitrateKbps: 800 }],
      encoders: { x264: { preset: 'veryfast', ...(tune === undefined ? {} : { tune }) } },
    });
    const live = buildFfmpegArgs(p, 'x264', { ...VOD, input: 'pipe:0', live: { format: 'matroska' } });
    expect(live[live.indexOf('-tune') + 1]).toBe(want);
    const vod = buildFfmpegArgs(p, 'x264', VOD);
    if (tune === undefined) expect(vod).not.toContain('-tune');
    else expect(vod[vod.indexOf('-tune') + 1]).toBe(tune);
  });

  it.each([
    [undefined, 'zerolatency'],
    ['grain', 'grain'],
    ['film', 'zerolatency'],
  ] as const)('live x265 with tune %s encodes with -tune %s (one tune only)', (tune, want) => {
    const p = parsePreset({
      id: 'tuned',
      name: 'tuned',
      ladder: [{ width: 640, height: 360, fps: 30, videoBitrateKbps: 800, codec: 'hevc' }],
      encoders: { x264: { preset: 'veryfast', ...(tune === undefined ? {} : { tune }) } },
    });
    const live = buildFfmpegArgs(p, 'x264', { ...VOD, input: 'pipe:0', live: { format: 'matroska' } });
    expect(live[live.indexOf('-tune') + 1]).toBe(want);
  });

  it('uses the other software encoders for hevc and av1 rungs, and libopus', () => {
    const p = parsePreset({
      id: 'sw',
      name: 'sw',
      ladder: [
        { width: 1280, height: 720, fps: 30, videoBitrateKbps: 2000, codec: 'hevc', profile: 'main' },
        { width: 640, height: 360, fps: 30, videoBitrateKbps: 600, codec: 'av1' },
      ],
      audio: { codec: 'opus', bitrateKbps: 96, channels: 2, sampleRate: 44100 },
      encoders: { x264: { preset: 'medium', tune: 'film' } },
    });
    const args = buildFfmpegArgs(p, 'x264', VOD);
    const at = (i: number) =>
      args.slice(args.indexOf(`[v${i}]`) + 1, args.indexOf('-b:v', args.indexOf(`[v${i}]`)));
    // prettier-ignore
    expect(at(0)).toEqual([
      '-c:v', 'libx265', '-preset', 'medium', '-profile:v', 'main', '-tag:v', 'hvc1', '-forced-idr', '1',
      '-x265-params', 'scenecut=0:open-gop=0:log-level=error',
    ]);
    expect(at(1)).toEqual(['-c:v', 'libsvtav1', '-preset', '7']);
    // libopus has no 44.1 kHz mode.
    expect(args.slice(args.indexOf('-c:a'), args.indexOf('-c:a') + 8)).toEqual([
      '-c:a',
      'libopus',
      '-b:a',
      '96k',
      '-ac',
      '2',
      '-ar',
      '48000',
    ]);
  });

  it('leaves the audio output out without audio, and counts pipes from firstOutputFd', () => {
    const args = buildFfmpegArgs(TWO_RUNGS, 'x264', { ...VOD, hasAudio: false, firstOutputFd: 7 });
    expect(args.filter((a) => a.startsWith('pipe:'))).toEqual(['pipe:1', 'pipe:7', 'pipe:8']);
    expect(args).not.toContain('-c:a');
    expect(args[args.indexOf('-filter_complex') + 1]).not.toContain('[a]');
  });

  it.each(HARDWARE_FAMILIES)('refuses av1 on %s with hardware_unavailable', (family) => {
    const p = parsePreset({
      id: 'av1',
      name: 'av1',
      ladder: [{ width: 640, height: 360, fps: 30, videoBitrateKbps: 600, codec: 'av1' }],
    });
    expect(errorCode(() => buildFfmpegArgs(p, family, VOD))).toBe('hardware_unavailable');
  });

  it.each([
    [{ ...VOD, input: 'in.mp4' }],
    [{ ...VOD, input: 'concat:/a|/b' }],
    [{ ...VOD, input: '/media/a\nb.mp4' }],
    [{ ...VOD, input: '/media/in.mp4', firstOutputFd: 2 }],
    [{ ...VOD, input: 'file:///etc/passwd', live: { format: 'mpegts' as const } }],
    [{ ...VOD, input: 'tcp://127.0.0.1:4000 -y', live: { format: 'mpegts' as const } }],
    [{ ...VOD, input: 'pipe:0' }],
    [{ ...VOD, input: 'pipe:1', live: { format: 'matroska' as const } }],
    [{ ...VOD, input: 'pipe:', live: { format: 'matroska' as const } }],
    [{ ...VOD, input: 'pipe:0 ', live: { format: 'matroska' as const } }],
    [{ ...VOD, input: 'fd:0', live: { format: 'matroska' as const } }],
    [{ ...VOD, input: '-', live: { format: 'matroska' as const } }],
    [{ ...VOD, vaapiDevice: '/dev/sda' }],
  ])('refuses io it did not expect: %j', (io) => {
    const family = io.vaapiDevice === undefined ? 'x264' : 'vaapi';
    expect(() => buildFfmpegArgs(TWO_RUNGS, family, io)).toThrow(AppError);
  });

  it('makes -g long enough for every forced keyframe interval', () => {
    const rung = TWO_RUNGS.ladder[0];
    if (!rung) throw new Error('no rung');
    expect(gopFrames({ ...rung, fps: 30 }, 2)).toBe(60);
    expect(gopFrames({ ...rung, fps: 29.97 }, 2)).toBe(60);
    // 30.2 fps x 2 s = 60.4 frames: forced keyframes fall 60 or 61 frames apart.
    expect(gopFrames({ ...rung, fps: 30.2 }, 2)).toBe(61);
    expect(gopFrames({ ...rung, fps: 30 }, 0.1 + 0.2)).toBe(9);
    expect(gopFrames({ ...rung, fps: 0.5 }, 0.25)).toBe(1);
  });
});

/** Every option the builder may emit, and whether it takes a value. */
const OPTIONS: ReadonlyMap<string, boolean> = new Map([
  ...['-hide_banner', '-nostats'].map((o) => [o, false] as const),
  ...[
    '-loglevel',
    '-progress',
    '-hwaccel',
    '-hwaccel_device',
    '-hwaccel_output_format',
    '-protocol_whitelist',
    '-format_whitelist',
    '-fflags',
    '-flags',
    '-probesize',
    '-analyzeduration',
    '-rw_timeout',
    '-thread_queue_size',
    '-f',
    '-i',
    '-filter_complex',
    '-map',
    '-c:v',
    '-preset',
    '-tune',
    '-profile:v',
    '-rc',
    '-rc_mode',
    '-compression_level',
    '-sc_threshold',
    '-forced-idr',
    '-forced_idr',
    '-no-scenecut',
    '-tag:v',
    '-x265-params',
    '-b:v',
    '-maxrate',
    '-bufsize',
    '-g',
    '-keyint_min',
    '-force_key_frames',
    '-bf',
    '-map_metadata',
    '-map_chapters',
    '-movflags',
    '-frag_duration',
    '-c:a',
    '-b:a',
    '-ac',
    '-ar',
  ].map((o) => [o, true] as const),
]);
/** Constants of ours that start with '-' at a value position (never preset-derived). */
const DASH_VALUES: ReadonlyMap<string, string> = new Map([
  ['-map_metadata', '-1'],
  ['-map_chapters', '-1'],
]);

// Built once: fc.stringMatching compiles its regex into an arbitrary, too slow to redo per run.
const rungNameArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,31}$/);
const presetIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);

const rungArb = fc.oneof(...VIDEO_CODECS.map((codec) => fc.constant(codec))).chain((codec) =>
  fc.record(
    {
      name: rungNameArb,
      width: fc.integer({ min: 8, max: 1920 }).map((n) => n * 2),
      height: fc.integer({ min: 8, max: 1080 }).map((n) => n * 2),
      fps: fc.integer({ min: 1000, max: 60_000 }).map((n) => n / 1000),
      videoBitrateKbps: fc.integer({ min: 100, max: 20_000 }),
      maxrateKbps: fc.integer({ min: 20_000, max: 40_000 }),
      bufsizeKbps: fc.integer({ min: 100, max: 80_000 }),
      codec: fc.constant(codec),
      profile: fc.constantFrom(...(PROFILES[codec] as Array<'baseline' | 'main' | 'high'>)),
    },
    { requiredKeys: ['width', 'height', 'fps', 'videoBitrateKbps', 'codec'] },
  ),
);

const presetArb: fc.Arbitrary<PresetInput> = fc
  .record({
    gopMs: fc.integer({ min: 250, max: 10_000 }),
    segmentGops: fc.integer({ min: 1, max: 48 }),
    partFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .chain(({ gopMs, segmentGops, partFraction }) => {
    // Segments are whole GOPs of 0.5 to 12 s.
    const k = Math.max(Math.ceil(500 / gopMs), Math.min(segmentGops, Math.floor(12_000 / gopMs)));
    const segmentSeconds = (gopMs * k) / 1000;
    const partSeconds = 0.1 + partFraction * (Math.min(2, segmentSeconds / 2) - 0.1);
    return fc.record(
      {
        id: presetIdArb,
        // Free text: must never reach the argument list.
        name: fc.string({ minLength: 1, maxLength: 120 }),
        description: fc.string({ maxLength: 200 }),
        ladder: fc.uniqueArray(rungArb, { minLength: 1, maxLength: 6, selector: (r) => rungName(r) }),
        audio: fc.record({
          codec: fc.constantFrom(...AUDIO_CODECS),
          bitrateKbps: fc.integer({ min: 16, max: 512 }),
          channels: fc.constantFrom(1 as const, 2 as const),
          sampleRate: fc.constantFrom(44100 as const, 48000 as const),
        }),
        gopSeconds: fc.constant(gopMs / 1000),
        segmentSeconds: fc.constant(segmentSeconds),
        partSeconds: fc.constant(partSeconds),
        encoders: fc.record({
          x264: fc.record(
            { preset: fc.constantFrom(...X264_PRESETS), tune: fc.constantFrom(...X264_TUNES) },
            { requiredKeys: ['preset'] },
          ),
          nvenc: fc.record({
            preset: fc.constantFrom(...NVENC_PRESETS),
            tune: fc.constantFrom(...NVENC_TUNES),
          }),
          vaapi: fc.record({ quality: fc.constantFrom(...HW_QUALITIES) }),
          qsv: fc.record({ quality: fc.constantFrom(...HW_QUALITIES) }),
        }),
        hardware: fc.record(
          {
            policy: fc.constantFrom('prefer' as const, 'require' as const, 'never' as const),
            family: fc.constantFrom(...HARDWARE_FAMILIES),
          },
          { requiredKeys: ['policy'] },
        ),
      },
      { requiredKeys: ['id', 'name', 'ladder', 'gopSeconds', 'segmentSeconds', 'partSeconds'] },
    );
  });

const ioArb: fc.Arbitrary<FfmpegIo> = fc.record({
  input: fc.constant('/srv/media/upload.mp4'),
  live: fc.option(fc.record({ format: fc.constantFrom('mpegts' as const, 'matroska' as const) }), {
    nil: null,
  }),
  hasAudio: fc.boolean(),
  firstOutputFd: fc.integer({ min: 3, max: 20 }),
});

describe('buildFfmpegArgs over random valid presets', () => {
  it('emits only allow-listed options, one -i, no dash-led or multi-line values', () => {
    fc.assert(
      fc.property(presetArb, ioArb, fc.constantFrom(...ENCODER_FAMILIES), (input, io0, family) => {
        const preset = parsePreset(input);
        const io =
          io0.live === null
            ? io0
            : { ...io0, input: io0.firstOutputFd % 2 === 0 ? 'pipe:0' : 'tcp://127.0.0.1:41000' };
        if (family !== 'x264' && preset.ladder.some((r) => r.codec === 'av1')) {
          expect(errorCode(() => buildFfmpegArgs(preset, family, io))).toBe('hardware_unavailable');
          return;
        }
        const argv = buildFfmpegArgs(preset, family, io);
        // Plain checks inside the loop: expect() per element would cost seconds over 10,000 runs.
        const inputs: string[] = [];
        const outputs: string[] = [];
        for (let i = 0; i < argv.length; i++) {
          const a = argv[i] as string;
          if (/[\n\r\0]/.test(a))
            throw new Error(`argv[${i}] holds a line break or NUL: ${JSON.stringify(a)}`);
          if (!a.startsWith('-')) {
            outputs.push(a);
            continue;
          }
          const takesValue = OPTIONS.get(a);
          if (takesValue === undefined) throw new Error(`option ${a} is not allow-listed`);
          if (!takesValue) continue;
          const v = argv[++i];
          if (v === undefined) throw new Error(`${a} has no value`);
          if (/[\n\r\0]/.test(v))
            throw new Error(`${a} value holds a line break or NUL: ${JSON.stringify(v)}`);
          if (v.startsWith('-') && DASH_VALUES.get(a) !== v)
            throw new Error(`${a} ${v}: value looks like an option`);
          if (a === '-i') inputs.push(v);
        }
        const pipes = preset.ladder.length + (io.hasAudio ? 1 : 0);
        const want = Array.from({ length: pipes }, (_, k) => `pipe:${io.firstOutputFd + k}`);
        if (inputs.length !== 1 || inputs[0] !== io.input)
          throw new Error(`inputs: ${JSON.stringify(inputs)}`);
        if (outputs.join(' ') !== want.join(' ')) throw new Error(`outputs: ${JSON.stringify(outputs)}`);
      }),
      { numRuns: 10_000 },
    );
  });
});

import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/core/errors.js';
import { parsePreset, PresetSchema, type PresetInput } from '../../src/core/preset.js';
import { buildPassthroughArgs } from '../../src/workers/ffmpeg/args-passthrough.js';
import { LIVE_PIPE_INPUT } from '../../src/workers/ffmpeg/args.js';
import { passthroughPlanView, passthroughRenditions } from '../../src/workers/passthrough-plan.js';

const INPUT: PresetInput = {
  id: 'pass',
  name: 'Passthrough',
  ladder: [{ width: 1280, height: 720, fps: 30, videoBitrateKbps: 2500 }],
  audio: { codec: 'aac', bitrateKbps: 96, channels: 2, sampleRate: 48000 },
  partSeconds: 0.5,
  passthrough: true,
};
const PRESET = parsePreset(INPUT);
const IO = {
  input: LIVE_PIPE_INPUT,
  live: { format: 'matroska' as const },
  hasAudio: true,
  firstOutputFd: 3,
};
const MOV = '+cmaf+frag_keyframe+empty_moov+default_base_moof+delay_moov+skip_sidx+skip_trailer';
const MUX = [
  '-map_metadata',
  '-1',
  '-map_chapters',
  '-1',
  '-f',
  'mp4',
  '-movflags',
  MOV,
  '-frag_duration',
  '500000',
];

describe('passthrough preset field', () => {
  it('is a boolean, optional (absent reads as no passthrough)', () => {
    expect(PRESET.passthrough).toBe(true);
    expect(parsePreset({ ...INPUT, passthrough: undefined }).passthrough).toBeUndefined();
    const bad = PresetSchema.safeParse({ ...INPUT, passthrough: 'yes' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['passthrough']);
  });

  it('still needs its ladder: the fallback when the layers cannot be passed through', () => {
    expect(PresetSchema.safeParse({ ...INPUT, ladder: [] }).success).toBe(false);
  });
});

describe('buildPassthroughArgs', () => {
  it('copies every layer to its own pipe and encodes only the audio, the whole list', () => {
    expect(buildPassthroughArgs(3, PRESET, IO)).toEqual([
      ...['-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1'],
      ...['-f', 'matroska', '-protocol_whitelist', 'pipe', '-flags', 'low_delay'],
      ...['-probesize', '32', '-analyzeduration', '0', '-thread_queue_size', '512'],
      ...['-i', 'pipe:0'],
      ...['-filter_complex', '[0:a:0]aresample=async=1:first_pts=0,atrim=start=0.021333[a]'],
      ...['-map', '0:v:0', '-c:v', 'copy', ...MUX, 'pipe:3'],
      ...['-map', '0:v:1', '-c:v', 'copy', ...MUX, 'pipe:4'],
      ...['-map', '0:v:2', '-c:v', 'copy', ...MUX, 'pipe:5'],
      ...['-map', '[a]', '-c:a', 'aac', '-b:a', '96k', '-ac', '2', '-ar', '48000', ...MUX, 'pipe:6'],
    ]);
  });

  it('has no video encoder and no filter on video', () => {
    const args = buildPassthroughArgs(2, PRESET, IO);
    expect(args.filter((a) => /^lib(x26[45]|svtav1)$|_nvenc$|_vaapi$|_qsv$/.test(a))).toEqual([]);
    expect(args.join(' ')).not.toMatch(/scale|split|fps=/);
  });

  it('without audio: the video pipes only', () => {
    const args = buildPassthroughArgs(1, PRESET, { ...IO, hasAudio: false });
    expect(args).not.toContain('-filter_complex');
    expect(args.at(-1)).toBe('pipe:3');
  });

  it('refuses a bad track count and any input but the relay pipe', () => {
    expect(() => buildPassthroughArgs(0, PRESET, IO)).toThrow(AppError);
    expect(() => buildPassthroughArgs(1.5, PRESET, IO)).toThrow(AppError);
    expect(() => buildPassthroughArgs(9, PRESET, IO)).toThrow(AppError);
    expect(() => buildPassthroughArgs(1, PRESET, { ...IO, input: 'concat:/etc/passwd' })).toThrow(AppError);
    expect(() => buildPassthroughArgs(1, PRESET, { ...IO, live: null, input: '/tmp/x.mp4' })).toThrow(
      AppError,
    );
  });
});

describe('passthroughRenditions', () => {
  it('one rendition per layer, named by its short side, BANDWIDTH from the measured rate', () => {
    const r = passthroughRenditions(
      [
        { rid: 'f', width: 1280, height: 720, fps: 30, bitrateKbps: 2400 },
        { rid: 'h', width: 640, height: 360, fps: 30, bitrateKbps: 800 },
        { rid: 'q', width: 640, height: 360, fps: null, bitrateKbps: null },
      ],
      PRESET,
      true,
    );
    expect(r).toEqual([
      {
        name: '720p',
        kind: 'video',
        width: 1280,
        height: 720,
        fps: 30,
        nominalBitrateKbps: 2400,
        peakBitrateKbps: 3600,
      },
      {
        name: '360p',
        kind: 'video',
        width: 640,
        height: 360,
        fps: 30,
        nominalBitrateKbps: 800,
        peakBitrateKbps: 1200,
      },
      {
        name: '360p-2',
        kind: 'video',
        width: 640,
        height: 360,
        nominalBitrateKbps: 1000,
        peakBitrateKbps: 1500,
      },
      { name: 'audio', kind: 'audio', nominalBitrateKbps: 96 },
    ]);
    expect(passthroughPlanView(r)).toEqual({
      rungs: [
        { name: '720p', width: 1280, height: 720, fps: 30, bitrateKbps: 2400 },
        { name: '360p', width: 640, height: 360, fps: 30, bitrateKbps: 800 },
        { name: '360p-2', width: 640, height: 360, fps: 0, bitrateKbps: 1000 },
      ],
      dropped: [],
    });
  });

  it('a portrait publisher: the short side names it', () => {
    const [r] = passthroughRenditions(
      [{ rid: null, width: 720, height: 1280, fps: 30, bitrateKbps: 2000 }],
      PRESET,
      false,
    );
    expect(r?.name).toBe('720p');
  });
});

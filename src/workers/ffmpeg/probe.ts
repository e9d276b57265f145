import path from 'node:path';
import type { Capabilities } from '../../core/capabilities.js';
import type { HwaccelSetting } from '../../core/config.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { HARDWARE_FAMILIES, type EncoderFamily, type HardwareFamily } from '../../core/preset.js';
import { DEFAULT_VAAPI_DEVICE } from './args-vaapi.js';
import { VOD_INPUT_OPTIONS } from './args.js';
import { capture } from './capture.js';

export interface ProbeOptions {
  /** Render node for the VA-API test encode. @defaultValue /dev/dri/renderD128 */
  vaapiDevice?: string;
  /** Per ffmpeg run. @defaultValue 10000 */
  timeoutMs?: number;
}

/** What one family needs from the build before a test encode is worth trying. */
const NEEDS: Record<HardwareFamily, { hwaccel: string; encoder: string; filter: string }> = {
  nvenc: { hwaccel: 'cuda', encoder: 'h264_nvenc', filter: 'scale_cuda' },
  vaapi: { hwaccel: 'vaapi', encoder: 'h264_vaapi', filter: 'scale_vaapi' },
  qsv: { hwaccel: 'qsv', encoder: 'h264_qsv', filter: 'vpp_qsv' },
};

/**
 * Probes what this machine's ffmpeg can really do. Being compiled in proves nothing for
 * hardware (this image lists h264_nvenc without a GPU), so each hardware family allowed
 * by HWACCEL must encode one frame through its upload, scale filter and encoder.
 * Never throws: a missing ffmpeg gives ffmpegVersion null and no families.
 */
export async function probeCapabilities(
  ffmpegPath: string,
  hwaccel: HwaccelSetting,
  log?: Logger,
  opts: ProbeOptions = {},
): Promise<Capabilities> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const run = (args: string[]) => capture(ffmpegPath, ['-hide_banner', '-nostdin', ...args], { timeoutMs });
  const probedAt = new Date().toISOString();

  const version = await run(['-version']);
  const ffmpegVersion =
    version.code === 0 ? (/^ffmpeg version (\S+)/m.exec(version.stdout)?.[1] ?? null) : null;
  if (ffmpegVersion === null) {
    const why = `ffmpeg could not be run: ${version.error ?? firstLine(version.stderr) ?? `exit code ${version.code}`}`;
    log?.warn({ ffmpegPath, why }, 'ffmpeg probe failed');
    return {
      ffmpegPath,
      ffmpegVersion,
      encoders: [],
      hwaccels: [],
      filters: [],
      families: [],
      rejected: { x264: why, nvenc: why, vaapi: why, qsv: why },
      probedAt,
    };
  }

  const [enc, hw, flt] = await Promise.all([run(['-encoders']), run(['-hwaccels']), run(['-filters'])]);
  const encoders = parseEncoders(enc.stdout);
  const hwaccels = parseHwaccels(hw.stdout);
  const filters = parseFilters(flt.stdout);
  const families: EncoderFamily[] = [];
  const rejected: Capabilities['rejected'] = {};

  if (encoders.includes('libx264')) families.push('x264');
  else rejected.x264 = 'this ffmpeg has no libx264 encoder';

  const tests = HARDWARE_FAMILIES.map(async (family): Promise<[HardwareFamily, string | null]> => {
    if (hwaccel === 'none' || (hwaccel !== 'auto' && hwaccel !== family)) {
      return [family, `not tried: HWACCEL=${hwaccel}`];
    }
    const need = NEEDS[family];
    const missing = [
      hwaccels.includes(need.hwaccel) ? null : `hwaccel ${need.hwaccel}`,
      encoders.includes(need.encoder) ? null : `encoder ${need.encoder}`,
      filters.includes(need.filter) ? null : `filter ${need.filter}`,
    ].filter((m) => m !== null);
    if (missing.length > 0) return [family, `this ffmpeg lacks ${missing.join(', ')}`];
    const r = await run(testEncodeArgs(family, opts.vaapiDevice ?? DEFAULT_VAAPI_DEVICE));
    if (r.code === 0) return [family, null];
    return [family, r.error ?? firstLine(r.stderr) ?? `test encode exited with code ${r.code}`];
  });
  for (const [family, why] of await Promise.all(tests)) {
    if (why === null) families.push(family);
    else rejected[family] = why;
  }
  log?.debug({ families, rejected }, 'ffmpeg capabilities');
  return { ffmpegPath, ffmpegVersion, encoders, hwaccels, filters, families, rejected, probedAt };
}

/** One black frame through the family's upload, scaler and H.264 encoder, to nowhere. */
export function testEncodeArgs(family: HardwareFamily, vaapiDevice: string): string[] {
  const source = ['-f', 'lavfi', '-i', 'color=black:s=256x144:r=25:d=0.04'];
  const sink = ['-frames:v', '1', '-f', 'null', '-'];
  switch (family) {
    case 'nvenc':
      return [
        ...['-loglevel', 'error', '-init_hw_device', 'cuda=hw', '-filter_hw_device', 'hw', ...source],
        ...['-vf', 'format=nv12,hwupload,scale_cuda=128:72', '-c:v', 'h264_nvenc', ...sink],
      ];
    case 'vaapi':
      return [
        ...['-loglevel', 'error', '-init_hw_device', `vaapi=hw:${vaapiDevice}`, '-filter_hw_device', 'hw'],
        ...[...source, '-vf', 'format=nv12,hwupload,scale_vaapi=w=128:h=72', '-c:v', 'h264_vaapi', ...sink],
      ];
    case 'qsv':
      return [
        ...['-loglevel', 'error', '-init_hw_device', 'qsv=hw', '-filter_hw_device', 'hw', ...source],
        ...['-vf', 'format=nv12,hwupload=extra_hw_frames=16,vpp_qsv=w=128:h=72', '-c:v', 'h264_qsv', ...sink],
      ];
  }
}

/** ` V....D libx264  libx264 H.264 ...` rows after the ` ------` legend. */
export function parseEncoders(text: string): string[] {
  const body = text.split(/^ -+$/m)[1] ?? '';
  return [...body.matchAll(/^ [VAS][A-Z.]{5} (\S+)/gm)].map((m) => m[1] ?? '');
}

export function parseHwaccels(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9_]+$/.test(l));
}

/** ` T.C name  V->V  description` rows. */
export function parseFilters(text: string): string[] {
  return [...text.matchAll(/^ [T.][S.][C.] (\S+)\s+\S*->\S*\s/gm)].map((m) => m[1] ?? '');
}

/** The first stderr line, without ffmpeg's `[AVHWDeviceContext @ 0x5f...] ` prefix. */
function firstLine(stderr: string): string | null {
  const line = stderr
    .split('\n')
    .map((l) => l.replace(/^\[[^\]]* @ 0x[0-9a-f]+\] /, '').trim())
    .find((l) => l !== '');
  return line ?? null;
}

export interface InputInfo {
  /** null when the container does not say (live streams, some raw formats). */
  durationMs: number | null;
  /** A video stream that is not cover art. */
  hasVideo: boolean;
  hasAudio: boolean;
  width?: number;
  height?: number;
  /** Sample aspect ratio, when the stream declares one. */
  sar?: { num: number; den: number };
  /** Display rotation (its display matrix), degrees; ffmpeg turns decoded frames by it. */
  rotation?: number;
  fps?: number;
  /** ffmpeg's codec name: h264, hevc, vp9, ... */
  videoCodec?: string;
}

/**
 * What a media file holds, from `ffmpeg -i file`'s stderr: ffprobe may not sit next to a
 * custom FFMPEG_PATH. Reads with the same demuxer and protocol allow-lists as the
 * transcode, so probing an upload cannot make ffmpeg open what it references.
 * Throws AppError `validation_failed` when the file is not readable media, `unavailable`
 * when ffmpeg cannot be run.
 */
export async function probeInput(
  ffmpegPath: string,
  file: string,
  opts: ProbeOptions = {},
): Promise<InputInfo> {
  const abs = path.resolve(file);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const r = await capture(ffmpegPath, ['-hide_banner', '-nostdin', ...VOD_INPUT_OPTIONS, '-i', abs], {
    timeoutMs,
  });
  if (r.failure === 'start') {
    throw new AppError(
      'unavailable',
      `ffmpeg could not be run to probe the input: ${r.error ?? 'unknown error'}`,
    );
  }
  if (r.failure === 'timeout') {
    throw new AppError(
      'validation_failed',
      `${path.basename(abs)}: probing took longer than ${timeoutMs} ms`,
    );
  }
  const info = parseInputInfo(r.stderr);
  if (info === null) {
    // The worker's own directories are no business of whoever reads the job's error.
    const why = (firstLine(r.stderr) ?? 'no input found').split(abs).join(path.basename(abs));
    throw new AppError('validation_failed', `${path.basename(abs)} is not readable media: ${why}`);
  }
  return info;
}

/** Parses the `Input #0` section of `ffmpeg -i` output; null when there is none. */
export function parseInputInfo(stderr: string): InputInfo | null {
  const start = stderr.search(/^Input #0, /m);
  if (start < 0) return null;
  const rest = stderr.slice(start);
  const end = rest.search(/^(Input #1|Output #|At least one output|Stream mapping)/m);
  const section = end < 0 ? rest : rest.slice(0, end);

  const d = /^\s*Duration: (?:N\/A|(\d+):(\d{2}):(\d{2}(?:\.\d+)?))/m.exec(section);
  const durationMs =
    d?.[1] !== undefined && d[2] !== undefined && d[3] !== undefined
      ? Math.round(((Number(d[1]) * 60 + Number(d[2])) * 60 + Number(d[3])) * 1000)
      : null;

  const info: InputInfo = { durationMs, hasVideo: false, hasAudio: false };
  for (const m of section.matchAll(/^\s*Stream #0:\d+\S*: (Video|Audio): ([A-Za-z0-9_]+)(.*)$/gm)) {
    const [, kind, codec, details = ''] = m;
    if (kind === 'Audio') {
      info.hasAudio = true;
    } else if (!info.hasVideo && !details.includes('(attached pic)')) {
      info.hasVideo = true;
      info.videoCodec = codec;
      // ", 640x360 [SAR 1:1 ...]" or ", 640x360," (not the "0x31637661" codec tag)
      const size = /, (\d{1,5})x(\d{1,5})(?=[\s,]|$)/.exec(details);
      if (size) {
        info.width = Number(size[1]);
        info.height = Number(size[2]);
      }
      const sar = /SAR (\d{1,5}):(\d{1,5}) DAR/.exec(details);
      if (sar && Number(sar[1]) > 0 && Number(sar[2]) > 0)
        info.sar = { num: Number(sar[1]), den: Number(sar[2]) };
      const fps = /, (\d{1,4}(?:\.\d{1,3})?) fps[,\s]/.exec(`${details} `);
      if (fps) info.fps = Number(fps[1]);
      // Side data follows the stream line: "displaymatrix: rotation of -90.00 degrees".
      const after = section.slice((m.index ?? 0) + m[0].length);
      const next = after.search(/^\s*Stream #/m);
      const rot = /displaymatrix: rotation of (-?\d{1,3}(?:\.\d+)?) degrees/.exec(
        next < 0 ? after : after.slice(0, next),
      );
      if (rot) info.rotation = Math.round(Number(rot[1]));
    }
  }
  return info;
}

/**
 * bench/passthrough-cpu: what a stream costs the worker on the `passthrough` preset
 * against transcoding the same publish into the same ladder. The input is what the relay
 * hands the worker for a three-layer simulcast publish (OBS's 100/50/25 %: 1280x720,
 * 640x360, 320x180 at 30 fps, the same frames, 2 s GOPs, Opus): every layer as its own
 * H.264 track in one Matroska stream for passthrough, the top layer alone for the
 * transcode. Each run is the worker's own argument list (buildPassthroughArgs,
 * buildFfmpegArgs with x264) reading that Matroska on stdin as fast as it can, outputs to
 * /dev/null; the figure is ffmpeg's CPU seconds (utime + stime, read from /proc as the
 * reaped child's) per second of media, the median of the runs.
 *
 *   npm run bench:passthrough-cpu -- [--runs 3] [--seconds 10]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exited } from '../src/core/child.js';
import { parsePreset, type Preset } from '../src/core/preset.js';
import { packageRoot } from '../src/core/paths.js';
import { buildFfmpegArgs, LIVE_PIPE_INPUT } from '../src/workers/ffmpeg/args.js';
import { buildPassthroughArgs } from '../src/workers/ffmpeg/args-passthrough.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg';
const TICK = 100; // USER_HZ on Linux
const LAYERS = [
  { width: 1280, height: 720, kbps: 2500 },
  { width: 640, height: 360, kbps: 800 },
  { width: 320, height: 180, kbps: 300 },
];

/** CPU seconds of this process's reaped children (fields 16 and 17 of /proc/self/stat). */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICK;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The relay's body, made by ffmpeg: the given layers as H.264 tracks (same frames, same GOP) and Opus. */
function makeInput(file: string, layers: typeof LAYERS): void {
  const split = `[0:v]split=${layers.length}${layers.map((_, i) => `[s${i}]`).join('')}`;
  const scaled = layers.map((l, i) => `[s${i}]scale=${l.width}:${l.height}[v${i}]`);
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
    ...['-filter_complex', [split, ...scaled].join(';')],
    ...layers.flatMap((l, i) => [
      ...['-map', `[v${i}]`, `-c:v:${i}`, 'libx264', `-preset:v:${i}`, 'veryfast'],
      ...[`-b:v:${i}`, `${l.kbps}k`, `-g:v:${i}`, '60', `-keyint_min:v:${i}`, '60', '-sc_threshold', '0'],
    ]),
    ...['-bf', '0', '-pix_fmt', 'yuv420p'],
    ...['-map', '1:a', '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2'],
    ...['-f', 'matroska', file],
  ];
  const r = spawnSync(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`making ${file} failed`);
}

async function cpuOf(args: string[], input: string, outputs: number): Promise<number> {
  const devnull = openSync('/dev/null', 'w');
  const before = childCpuSeconds();
  const child: ChildProcess = spawn(ffmpegPath, args, {
    stdio: [openSync(input, 'r'), devnull, 'ignore', ...Array.from({ length: outputs }, () => devnull)],
  });
  await exited(child);
  if (child.exitCode !== 0) throw new Error(`ffmpeg exited with ${child.exitCode}`);
  return childCpuSeconds() - before;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-'));
  try {
    const layered = path.join(dir, 'layers.mkv');
    const top = path.join(dir, 'top.mkv');
    makeInput(layered, LAYERS);
    makeInput(top, LAYERS.slice(0, 1));
    const load = (id: string): Preset =>
      parsePreset(JSON.parse(readFileSync(path.join(packageRoot(), 'presets', `${id}.json`), 'utf8')));
    const passthrough = load('passthrough');
    const base = load('default');
    // The transcode makes the same three sizes from the top layer, at the default preset's settings.
    const ladder: Preset = {
      ...base,
      ladder: LAYERS.map((l) => ({
        ...base.ladder[0]!,
        width: l.width,
        height: l.height,
        videoBitrateKbps: l.kbps,
      })),
    };
    const io = {
      input: LIVE_PIPE_INPUT,
      live: { format: 'matroska' as const },
      hasAudio: true,
      firstOutputFd: 3,
    };
    const copyArgs = buildPassthroughArgs(LAYERS.length, passthrough, io);
    const encodeArgs = buildFfmpegArgs(ladder, 'x264', io);
    console.log(
      `input: ${seconds} s of a 3-layer publish (${LAYERS.map((l) => `${l.width}x${l.height}`).join(', ')} at 30 fps, Opus); ${runs} runs each`,
    );
    const copy: number[] = [];
    const encode: number[] = [];
    for (let run = 0; run < runs; run++) {
      copy.push(await cpuOf(copyArgs, layered, LAYERS.length + 1));
      encode.push(await cpuOf(encodeArgs, top, LAYERS.length + 1));
    }
    const c = median(copy);
    const e = median(encode);
    console.log(
      `passthrough (3 layers copied, Opus → AAC): ${c.toFixed(2)} CPU-s, ${(c / seconds).toFixed(3)} cores`,
    );
    console.log(
      `transcoded (x264 veryfast, the same 3 sizes): ${e.toFixed(2)} CPU-s, ${(e / seconds).toFixed(3)} cores`,
    );
    console.log(
      `passthrough costs ${((c / e) * 100).toFixed(1)}% of the transcode (${(e / c).toFixed(0)}x less)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

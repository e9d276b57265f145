/**
 * How many concurrent live streams one machine keeps up with through the whole pipeline
 * (WHIP in, relay, one ffmpeg per stream, LL-HLS packaging, origin), against the same
 * number of bare ffmpeg processes running the identical ladder arguments on the same
 * input, side by side.
 *
 *   npm run bench:capacity -- [--max 8] [--from 1] [--seconds 30] [--mode both|bare|pipeline] [--preset capacity|default|…]
 *
 * Input: 1280x720p30 H.264 High (2.5 Mb/s, a key frame a second, no B-frames, as WebRTC
 * sends it) + Opus, made once by ffmpeg. Ladder: 720p/480p/360p at x264 superfast + AAC.
 * - bare: N ffmpeg with the worker's live arguments, each reading the input as Matroska
 *   from its stdin at real-time pace (`-re` is the one argument added); it keeps up when
 *   its media time advances at >= 0.97x the wall clock over the measured window.
 * - pipeline: one `npm start` process (every role, LIVE_CAPACITY=N) and N WHIP
 *   publishers sending the same H.264 (copied, not re-encoded) from this process; a
 *   stream keeps up when its 720p parts appear at >= 0.97x real time over the window and
 *   no wait between two parts exceeds 1 s.
 * The publishers run at nice 10 (they stand for machines elsewhere); `--same-priority`
 * keeps them at the service's priority. The machine's busy share is printed per step.
 * BENCH_CPU_PROF=DIR writes the service's V8 CPU profile (node --cpu-prof) per step into DIR.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/core/paths.js';
import { parsePreset, type PresetInput } from '../src/core/preset.js';
import { PrivateRedis } from '../src/core/redis-server.js';
import { buildFfmpegArgs, LIVE_PIPE_INPUT } from '../src/workers/ffmpeg/args.js';
import { FfmpegProcess } from '../src/workers/ffmpeg/process.js';
import { planLadder, plannedPreset } from '../src/workers/ladder-plan.js';
import { PlaylistMonitor } from '../test/helpers/playlist-monitor.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { WhipTestClient } from '../test/helpers/whip-client.js';
import { busyPercent, machineCpu, ownCpuSeconds, TreeCpu } from './lib/cpu.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string', default: '1' },
    max: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '30' },
    mode: { type: 'string', default: 'both' },
    'same-priority': { type: 'boolean', default: false },
    preset: { type: 'string', default: 'capacity' },
  },
});
const FROM = Number(values.from);
const MAX = Number(values.max);
const SECONDS = Number(values.seconds);
/** Measured window: after start-up, before the end. */
const WARMUP_S = 8;
const WINDOW_S = SECONDS - WARMUP_S - 2;
const KEEP_UP = 0.97;
const MAX_PART_GAP_MS = 1000;
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

const PRESET_INPUT: PresetInput = {
  id: 'capacity',
  name: 'Capacity benchmark: 3 rungs at x264 superfast',
  ladder: [
    { width: 1280, height: 720, fps: 30, videoBitrateKbps: 2500, profile: 'high' },
    { width: 854, height: 480, fps: 30, videoBitrateKbps: 1200, profile: 'main' },
    { width: 640, height: 360, fps: 30, videoBitrateKbps: 700, profile: 'main' },
  ],
  audio: { codec: 'aac', bitrateKbps: 96, channels: 2, sampleRate: 48000 },
  gopSeconds: 2,
  segmentSeconds: 4,
  partSeconds: 0.333,
  encoders: { x264: { preset: 'superfast' } },
  hardware: { policy: 'never' },
};
/**
 * `--preset default`: the built-in default preset as the worker runs it for this 720p
 * source (the source-aware ladder: 1080p left out, 720p/480p/360p at veryfast).
 */
if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(values.preset)) throw new Error('--preset must be a preset id');
const BUILT_IN = values.preset !== 'capacity';
const builtIn = (id: string) =>
  parsePreset(JSON.parse(readFileSync(path.join(packageRoot(), 'presets', `${id}.json`), 'utf8')));
const PRESET = BUILT_IN
  ? (() => {
      const p = builtIn(values.preset);
      return plannedPreset(p, planLadder(p, { width: 1280, height: 720, fps: 30 }));
    })()
  : parsePreset(PRESET_INPUT);

interface StepResult {
  n: number;
  keptUp: number;
  /** Lowest real-time ratio of any stream over the window. */
  worstRate: number;
  /** Longest wait between two parts of any stream (pipeline only), ms. */
  worstGapMs: number;
  /** CPU of what is measured (bare ffmpegs, or the service and its ffmpegs), % of one core. */
  cpuPct: number;
  /** Pipeline: the service's own node process (ingest, relay, packager, origin), % of one core. */
  nodePct?: number;
  /** Pipeline: this process and its children (the WHIP publishers), % of one core. */
  publishersPct?: number;
  machineBusyPct: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${bin} exited ${code}: ${err}`))));
  });
}

/**
 * The input, twice with the same streams: MPEG-TS for the WHIP publishers (copied into
 * RTP; ffmpeg's -stream_loop does not restart a copied Matroska input) and Matroska, the
 * relay's format, for bare ffmpeg's stdin.
 */
async function makeInput(dir: string): Promise<{ ts: string; mkv: string }> {
  const mkv = path.join(dir, 'in.mkv');
  const ts = path.join(dir, 'in.ts');
  const seconds = String(SECONDS + 5);
  await run(FFMPEG, [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
    ...['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p', '-bf', '0'],
    ...['-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-g', '30'],
    ...['-c:a', 'libopus', '-b:a', '64k', '-ac', '2', '-ar', '48000'],
    mkv,
  ]);
  await run(FFMPEG, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    mkv,
    '-c',
    'copy',
    '-f',
    'mpegts',
    ts,
  ]);
  return { ts, mkv };
}

/** The worker's live arguments for this preset, reading Matroska from stdin at real-time pace. */
function bareArgs(): string[] {
  const args = buildFfmpegArgs(PRESET, 'x264', {
    input: LIVE_PIPE_INPUT,
    live: { format: 'matroska' },
    hasAudio: true,
    firstOutputFd: 3,
  });
  const i = args.indexOf('-i');
  // The input options (-f matroska …) sit before -i; -re paces the read like a live source.
  const firstInputOption = args.lastIndexOf('-f', i);
  return [...args.slice(0, firstInputOption), '-re', ...args.slice(firstInputOption)];
}

async function bareStep(n: number, mkv: string): Promise<StepResult> {
  const args = bareArgs();
  const outputs = PRESET.ladder.length + 1;
  const progress: Array<Array<{ wall: number; media: number }>> = [];
  const procs: FfmpegProcess[] = [];
  const trees: TreeCpu[] = [];
  for (let k = 0; k < n; k++) {
    const samples: Array<{ wall: number; media: number }> = [];
    progress.push(samples);
    const p = new FfmpegProcess({
      bin: FFMPEG,
      args,
      outputCount: outputs,
      input: createReadStream(mkv),
      onProgress: (pr) => samples.push({ wall: Date.now(), media: pr.outTimeMs }),
    });
    for (const out of p.outputs) out.resume();
    procs.push(p);
    if (p.pid) trees.push(new TreeCpu(p.pid));
  }
  const t0 = Date.now();
  await sleep(WARMUP_S * 1000);
  const cpuA = trees.reduce((s, t) => s + t.sample(), 0);
  const mA = machineCpu();
  await sleep(WINDOW_S * 1000);
  const cpuB = trees.reduce((s, t) => s + t.sample(), 0);
  const mB = machineCpu();
  await Promise.allSettled(procs.map((p) => p.close()));
  const rates = progress.map((samples) =>
    rateOver(samples, t0 + WARMUP_S * 1000, t0 + (WARMUP_S + WINDOW_S) * 1000),
  );
  return {
    n,
    keptUp: rates.filter((r) => r >= KEEP_UP).length,
    worstRate: Math.min(...rates),
    worstGapMs: 0,
    cpuPct: (100 * (cpuB - cpuA)) / WINDOW_S,
    machineBusyPct: busyPercent(mA, mB),
  };
}

/** Media time gained per wall time between two instants, from progress samples. */
function rateOver(samples: Array<{ wall: number; media: number }>, from: number, to: number): number {
  const at = (t: number) => {
    let best: { wall: number; media: number } | undefined;
    for (const s of samples) if (s.wall <= t) best = s;
    return best;
  };
  const a = at(from);
  const b = at(to);
  if (!a || !b || b.wall <= a.wall) return 0;
  return (b.media - a.media) / (b.wall - a.wall);
}

async function pipelineStep(n: number, ts: string, redisUrl: string, dir: string): Promise<StepResult> {
  const service = await ServiceProcess.start({
    env: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `cap${n}${Date.now().toString(36)}`,
      DATA_DIR: path.join(dir, `data-${n}`),
      PORT: '0',
      HWACCEL: 'none',
      LIVE_CAPACITY: String(n),
      LOG_LEVEL: 'warn',
    },
    nodeArgs: process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
      : [],
    waitFor: /listening on/,
  });
  const clients: WhipTestClient[] = [];
  const monitors: PlaylistMonitor[] = [];
  try {
    if (!BUILT_IN) {
      const res = await fetch(`${service.url}/api/presets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(PRESET_INPUT),
      });
      if (res.status !== 201 && res.status !== 409)
        throw new Error(`preset: ${res.status} ${await res.text()}`);
    }
    const tree = new TreeCpu(service.pid);
    const publishers = new TreeCpu(process.pid);
    if (!values['same-priority']) os.setPriority(10);
    const t0 = Date.now();
    for (let k = 0; k < n; k++) {
      clients.push(
        await WhipTestClient.publish({
          url: `${service.url}/whip/cap${k}?preset=${values.preset}`,
          inputFile: ts,
          seconds: SECONDS,
        }),
      );
      // A viewer's load, not a checker's: each new part fetched once, the playlist every 250 ms.
      const m = new PlaylistMonitor(`${service.url}/hls/cap${k}`, '720p', { fullCheckEveryMs: null });
      m.start(250);
      monitors.push(m);
    }
    const from = t0 + WARMUP_S * 1000;
    const to = from + WINDOW_S * 1000;
    await sleep(Math.max(0, from - Date.now()));
    const cpuA = tree.sample();
    const nodeA = ownCpuSeconds(service.pid);
    const pubA = publishers.sample();
    const mA = machineCpu();
    await sleep(Math.max(0, to - Date.now()));
    const cpuB = tree.sample();
    const nodeB = ownCpuSeconds(service.pid);
    const pubB = publishers.sample();
    const mB = machineCpu();
    const windowS = (to - from) / 1000;
    const part = PRESET.partSeconds * 1000;
    const rates = monitors.map((m) => {
      const seen = [...m.partSeen.values()].filter((t) => t >= from && t <= to).length;
      return (seen * part) / (to - from);
    });
    const gaps = monitors.map((m) => m.maxGapMs(from, to));
    return {
      n,
      keptUp: rates.filter((r, k) => r >= KEEP_UP && (gaps[k] ?? Infinity) <= MAX_PART_GAP_MS).length,
      worstRate: Math.min(...rates),
      worstGapMs: Math.max(...gaps),
      cpuPct: (100 * (cpuB - cpuA)) / windowS,
      nodePct: (100 * (nodeB - nodeA)) / windowS,
      // The service is this process's child too: count only the rest.
      publishersPct: (100 * (pubB - pubA - (cpuB - cpuA))) / windowS,
      machineBusyPct: busyPercent(mA, mB),
    };
  } finally {
    os.setPriority(0);
    for (const m of monitors) m.stop();
    await Promise.allSettled(clients.map((c) => c.close()));
    await service.close();
  }
}

function line(mode: string, r: StepResult): string {
  const ok = r.keptUp === r.n ? 'keeps up' : `${r.keptUp}/${r.n} keep up`;
  const gap = mode === 'pipeline' ? `, longest part wait ${r.worstGapMs} ms` : '';
  const split =
    r.nodePct !== undefined
      ? ` [service node process ${r.nodePct.toFixed(0)} %, its ffmpegs ${(r.cpuPct - r.nodePct).toFixed(0)} %; publishers ${(r.publishersPct ?? 0).toFixed(0)} %]`
      : '';
  return (
    `  ${mode.padEnd(8)} N=${r.n}: ${ok} (slowest ${r.worstRate.toFixed(3)}x real time${gap}); ` +
    `CPU ${r.cpuPct.toFixed(0)} % of a core (${(r.cpuPct / r.n).toFixed(0)} % per stream)${split}; machine ${r.machineBusyPct.toFixed(0)} % busy`
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-capacity-'));
  let redis: PrivateRedis | null = null;
  const best: Record<string, number> = {};
  /** CPU per stream (% of a core) at the largest step each mode kept up with. */
  const perStream: Record<string, StepResult> = {};
  try {
    console.log(`capacity: ${os.cpus().length} cores; ${SECONDS} s per step, measured over ${WINDOW_S} s`);
    const { ts, mkv } = await makeInput(dir);
    redis = await PrivateRedis.start();
    const modes = values.mode === 'both' ? ['bare', 'pipeline'] : [values.mode];
    for (const mode of modes) {
      best[mode] = 0;
      for (let n = FROM; n <= MAX; n++) {
        const r = mode === 'bare' ? await bareStep(n, mkv) : await pipelineStep(n, ts, redis.url, dir);
        console.log(line(mode, r));
        if (r.keptUp < r.n) break;
        best[mode] = n;
        perStream[mode] = r;
        await sleep(2000);
      }
    }
    console.log('\nsummary');
    for (const [mode, n] of Object.entries(best)) console.log(`  ${mode}: keeps up with ${n} stream(s)`);
    if (best.bare && best.pipeline !== undefined) {
      console.log(`  ratio pipeline/bare: ${(best.pipeline / best.bare).toFixed(2)} (target 1.0)`);
    }
    const bare = perStream.bare;
    const pipe = perStream.pipeline;
    if (bare && pipe) {
      const b = bare.cpuPct / bare.n;
      const p = pipe.cpuPct / pipe.n;
      const node = (pipe.nodePct ?? 0) / pipe.n;
      const pub = (pipe.publishersPct ?? 0) / pipe.n;
      const cores = os.cpus().length * 100;
      console.log(
        `  CPU per stream: bare ffmpeg ${b.toFixed(1)} %; pipeline ${p.toFixed(1)} % (ffmpeg ${(p - node).toFixed(1)} %, ` +
          `ingest + relay + packager + origin ${node.toFixed(1)} %) = ${(p / b).toFixed(2)}x; ` +
          `the publishers on this machine took another ${pub.toFixed(1)} % per stream`,
      );
      console.log(
        `  streams the machine's ${cores} % would hold by CPU alone: bare ${Math.floor(cores / b)}, ` +
          `pipeline with publishers elsewhere ${Math.floor(cores / p)}, with publishers here ${Math.floor(cores / (p + pub))}`,
      );
      // What ratio 1.0 asks of everything but the encoders: the machine's idle share at bare's
      // largest count, spread over that many streams.
      const spare = ((100 - bare.machineBusyPct) / 100) * cores;
      console.log(
        `  ratio 1.0 needs the service's node process and the publishers together under ` +
          `${(spare / bare.n).toFixed(1)} % per stream (the ${spare.toFixed(0)} % of the machine left idle by ${bare.n} bare ` +
          `ffmpegs); measured ${(node + pub).toFixed(1)} % (${node.toFixed(1)} % + ${pub.toFixed(1)} %)`,
      );
    }
  } finally {
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

/**
 * bench/vod-overhead: what the pipeline (API, queue, worker, packager) costs on top of
 * the encoder. The same ladder on the same input, through the whole service and through
 * bare ffmpeg with the identical argument list (outputs to /dev/null), several runs each.
 * CPU is read from /proc (utime+stime of the process and of its reaped children), so the
 * pipeline figure includes node, the packager and ffmpeg; Redis runs apart and is not counted.
 *
 *   npm run bench:vod-overhead -- [--runs 5] [--seconds 10] [--preset default]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { exited } from '../src/core/child.js';
import { createLogger } from '../src/core/log.js';
import { FilePresetStore } from '../src/core/presets/store.js';
import { packageRoot } from '../src/core/paths.js';
import { PrivateRedis } from '../src/core/redis-server.js';
import { buildFfmpegArgs } from '../src/workers/ffmpeg/args.js';
import { probeInput } from '../src/workers/ffmpeg/probe.js';
import { makeTestClip } from '../test/helpers/media.js';
import { ServiceProcess, waitFor } from '../test/helpers/service-process.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    preset: { type: 'string', default: 'default' },
  },
});
const runs = Number(values.runs);
const seconds = Number(values.seconds);
const ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg';
const TICK = 100; // USER_HZ on Linux

/** CPU seconds of a process: its own and its reaped children's (fields 14-17 of /proc/PID/stat). */
function cpuSeconds(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const f = (i: number) => Number(fields[i - 3]);
  return (f(14) + f(15) + f(16) + f(17)) / TICK;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-'));
  const redis = await PrivateRedis.start();
  const mediaDir = path.join(dir, 'media');
  const clip = await makeTestClip(mediaDir, {
    seconds,
    width: 1920,
    height: 1080,
    fps: 30,
    audio: true,
    name: 'in.mp4',
  });
  const store = new FilePresetStore({
    builtInDir: path.join(packageRoot(), 'presets'),
    dataDir: path.join(dir, 'data'),
    log: createLogger('silent'),
  });
  const preset = (await store.get(values.preset)).preset;
  const media = await probeInput(ffmpegPath, clip);
  const args = buildFfmpegArgs(preset, 'x264', {
    input: clip,
    live: null,
    hasAudio: media.hasAudio,
    firstOutputFd: 3,
  });
  const outputs = preset.ladder.length + (media.hasAudio ? 1 : 0);
  console.log(
    `input: ${seconds} s 1920x1080p30 + AAC; preset ${values.preset} (${preset.ladder.length} rungs); ${runs} runs`,
  );

  const service = await ServiceProcess.start({
    env: {
      REDIS_URL: redis.url,
      PORT: '0',
      DATA_DIR: path.join(dir, 'data'),
      MEDIA_DIR: mediaDir,
      HWACCEL: 'none',
      QUEUE_PREFIX: 'bench',
      LOG_LEVEL: 'warn',
    },
    waitFor: /listening on/,
  });
  const rows: Array<{ pipeCpu: number; pipeWall: number; bareCpu: number; bareWall: number }> = [];
  try {
    for (let run = 1; run <= runs; run++) {
      // Bare ffmpeg: the identical argv, every output fd to /dev/null.
      const devnull = openSync('/dev/null', 'w');
      const before = cpuSeconds('self');
      const t0 = performance.now();
      const child: ChildProcess = spawn(ffmpegPath, args, {
        stdio: ['pipe', devnull, 'ignore', ...Array.from({ length: outputs }, () => devnull)],
      });
      await exited(child);
      const bareWall = (performance.now() - t0) / 1000;
      const bareCpu = cpuSeconds('self') - before;
      if (child.exitCode !== 0) throw new Error(`bare ffmpeg exited with ${child.exitCode}`);

      // The pipeline: POST, queue, worker, ffmpeg, packager, storage; done when the job completes.
      const pBefore = cpuSeconds(service.pid);
      const p0 = performance.now();
      const res = await fetch(`${service.url}/api/vod`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'in.mp4', presetId: values.preset, id: `run${run}` }),
      });
      if (res.status !== 202) throw new Error(`enqueue answered ${res.status}: ${await res.text()}`);
      await waitFor(
        'the job',
        async () => {
          const j = (await (await fetch(`${service.url}/api/jobs/run${run}`)).json()) as { state: string };
          if (j.state === 'failed') throw new Error('job failed');
          return j.state === 'completed';
        },
        600_000,
        // Polling costs the service CPU too: often enough for the wall figure, rarely enough not to weigh.
        250,
      );
      const pipeWall = (performance.now() - p0) / 1000;
      const pipeCpu = cpuSeconds(service.pid) - pBefore;
      rows.push({ pipeCpu, pipeWall, bareCpu, bareWall });
      console.log(
        `run ${run}: bare ${bareCpu.toFixed(2)} CPU-s ${bareWall.toFixed(2)} s wall | pipeline ${pipeCpu.toFixed(2)} CPU-s ${pipeWall.toFixed(2)} s wall | CPU ratio ${(pipeCpu / bareCpu).toFixed(3)}x, wall ratio ${(pipeWall / bareWall).toFixed(3)}x`,
      );
    }
  } finally {
    await service.close();
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const cpu = median(rows.map((r) => r.pipeCpu / r.bareCpu));
  const wall = median(rows.map((r) => r.pipeWall / r.bareWall));
  console.log(`median CPU ratio (pipeline / bare ffmpeg): ${cpu.toFixed(3)}x  (target <= 1.05x)`);
  console.log(`median wall ratio (pipeline / bare ffmpeg): ${wall.toFixed(3)}x`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

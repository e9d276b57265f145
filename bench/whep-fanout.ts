/**
 * bench/whep-fanout: what WHEP fan-out costs the server. One WHIP publisher sends a
 * 2.5 Mb/s H.264 stream (+ Opus); N werift WHEP viewers in a separate process play it.
 * For each step N (0 first, the baseline) the bench measures, over a window:
 *
 *  - CPU of the server process alone (utime + stime from /proc/PID/stat; its children,
 *    if any, not counted), minus the 0-viewer baseline, per viewer;
 *  - packet loss per viewer: RTP sequence numbers a viewer saw vs the span they cover
 *    (the server rewrites sequence numbers to stay continuous, so a gap is a loss that
 *    NACK did not repair), video and audio together;
 *
 * and steps N up (10, 25, 50, 100, 150, 200, ...) until loss >= 1% or the server uses more
 * than one core. "Viewers per core" is the largest N that passed both.
 *
 * The service runs as its own process (roles api + ingest: no worker, so no live ladder
 * transcode competes), pinned to one core (`taskset`, --server-core); this process (the
 * publisher's werift peer and the ffmpeg that sends a pre-encoded 2.5 Mb/s H.264 + Opus
 * file in a loop, streams copied: no live encode), the private Redis and the viewers'
 * process are pinned to another (--client-core). Viewers count sequence numbers on the raw
 * SRTP packets (headers are in the clear) and never decrypt (bench/lib/whep-viewers.ts).
 * Other load on the machine shows in each step's busy share of the two cores.
 *
 *   npm run bench:whep-fanout -- [--steps 10,25,50,100,150,200,300] [--window 10] [--settle 3]
 *                                [--kbps 2500] [--max-loss 1] [--server-core 0] [--client-core 1]
 *                                [--cpu-prof]   (profiles the server; prints its top functions)
 *                                [--mode rung]
 *
 * --mode rung: the viewers get the ladder instead (`?mode=rung`): a one-rung preset
 * (1280x720p30 at --kbps, x264 ultrafast, 1 s GOP, 0.2 s parts, made through the API) that a
 * worker process pinned to the client core encodes; the server makes each part's RTP once
 * and sends it to every viewer on its playout clock. Same figures, same target.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { terminate } from '../src/core/child.js';
import { PrivateRedis } from '../src/core/redis-server.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { WhipTestClient } from '../test/helpers/whip-client.js';
import { busyPercent, machineCpu, ownCpuSeconds } from './lib/cpu.js';
import { encodeSource } from './lib/encoded-source.js';
import { pin, udpRcvbufErrors } from './lib/pinning.js';
import { waitForLadder } from './lib/bench-service.js';
import type { ViewerAnswer, ViewerCommand, ViewerReport } from './lib/whep-viewers.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10,25,50,100,150,200,300' },
    window: { type: 'string', default: '10' },
    settle: { type: 'string', default: '3' },
    kbps: { type: 'string', default: '2500' },
    'max-loss': { type: 'string', default: '1' },
    'server-core': { type: 'string', default: '0' },
    'client-core': { type: 'string', default: '1' },
    'cpu-prof': { type: 'boolean', default: false },
    mode: { type: 'string', default: 'passthrough' },
  },
});
const serverCore = values['server-core'];
const clientCore = values['client-core'];
const steps = values.steps.split(',').map(Number);
const windowS = Number(values.window);
const settleS = Number(values.settle);
const kbps = Number(values.kbps);
const maxLoss = Number(values['max-loss']);
const rungMode = values.mode === 'rung';
const STREAM = 'fanout';
const here = path.dirname(fileURLToPath(import.meta.url));
const TARGET_PER_CORE = 100;

/** Self time per function of a .cpuprofile (V8's format), the largest first. */
function topFunctions(file: string, n: number): string[] {
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
  const byId = new Map(prof.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  for (const id of prof.samples) {
    const f = byId.get(id)?.callFrame;
    if (!f) continue;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = prof.samples.length;
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, c]) => `${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
}

/** The server's own WHEP figures for the stream (GET /api/streams/{stream}): the object holding packetsSent. */
async function serverStats(base: string): Promise<Record<string, number> | null> {
  const find = (o: unknown): Record<string, number> | null => {
    if (!o || typeof o !== 'object') return null;
    if ('packetsSent' in o && 'packetsDropped' in o && !('viewerId' in o)) return o as Record<string, number>;
    if (Array.isArray(o)) {
      // The per-viewer list of GET /api/streams/{stream} (viewers.whepViewers): summed.
      const sum: Record<string, number> = {};
      for (const v of o as Record<string, unknown>[])
        for (const [k, x] of Object.entries(v)) if (typeof x === 'number') sum[k] = (sum[k] ?? 0) + x;
      return 'packetsSent' in sum ? sum : null;
    }
    for (const v of Object.values(o)) {
      const f = find(v);
      if (f) return f;
    }
    return null;
  };
  try {
    return find(await (await fetch(`${base}/api/streams/${STREAM}`)).json());
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The viewers' process: one command at a time, one answer each. */
class ViewerProcess {
  readonly child: ChildProcess;
  #queue: Promise<unknown> = Promise.resolve();

  constructor() {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'whep-viewers.js');
    this.child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  send(m: ViewerCommand, timeoutMs = 120_000): Promise<ViewerAnswer & { ok: true }> {
    const run = () =>
      new Promise<ViewerAnswer & { ok: true }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`viewers: ${m.cmd} timed out`)), timeoutMs);
        const onExit = () => reject(new Error(`viewer process exited during ${m.cmd}`));
        this.child.once('exit', onExit);
        this.child.once('message', (a: ViewerAnswer) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          if (a.ok) resolve(a);
          else reject(new Error(`viewers: ${a.error}`));
        });
        this.child.send(m);
      });
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.send({ cmd: 'close' }, 20_000).catch(() => undefined);
    await terminate(this.child, 5000);
  }
}

interface Step {
  n: number;
  cores: number;
  perViewerPct: number;
  lossMean: number;
  lossWorst: number;
  lossyViewers: number;
  mbps: number;
  machinePct: number;
  /** Busy share of the server's core and of the clients' core (everything on them, other users too). */
  serverCorePct: number;
  clientCorePct: number;
  /** Datagrams dropped by the kernel for full receive buffers in the window (a starved receiver). */
  rcvbufErrors: number;
  /** CPU of the viewers' process, in cores: near 1, it (not the server) drops packets. */
  viewerCores: number;
  /** Packets the publisher sent in the window, video + audio. */
  published: number;
  /** Mean received by a viewer / published, %. */
  deliveredPct: number;
  /** The server's counters over the window: sent to viewers, dropped (full queues), retransmitted. */
  server: { sent: number; dropped: number; retransmitted: number; nacks: number } | null;
}

function pct(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : '–';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-'));
  let redis: PrivateRedis | null = null;
  let service: ServiceProcess | null = null;
  let worker: ServiceProcess | null = null;
  let publisher: WhipTestClient | null = null;
  let viewers: ViewerProcess | null = null;
  const results: Step[] = [];
  let published = 0;
  const profDir = path.join(dir, 'prof');
  mkdirSync(profDir);
  // Everything this process starts (Redis, the publisher's ffmpeg, the viewers) inherits this.
  const pinned = pin(process.pid, clientCore);
  console.log(
    `WHEP fan-out: 1280x720p30 H.264 at ${kbps} kb/s CBR + Opus 64 kb/s; steps ${steps.join(', ')}; ` +
      `${windowS} s windows after ${settleS} s settling; ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} at start`,
  );
  try {
    const source = path.join(dir, 'source.ts');
    encodeSource(source, { width: 1280, height: 720, kbps });
    redis = await PrivateRedis.start();
    service = await ServiceProcess.start({
      env: {
        REDIS_URL: redis.url,
        PORT: '0',
        ROLES: 'api,ingest',
        DATA_DIR: path.join(dir, 'data'),
        MEDIA_DIR: path.join(dir, 'media'),
        HWACCEL: 'none',
        QUEUE_PREFIX: 'bench',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        MAX_VIEWERS_PER_STREAM: String(Math.max(...steps) + 10),
        // Every viewer comes from this one machine: the per-client cap must not be what is measured.
        MAX_VIEWERS_PER_CLIENT: String(Math.max(...steps) + 10),
        ...(values['cpu-prof']
          ? {
              NODE_OPTIONS: `--import=${pathToFileURL(path.join(here, 'lib', 'whep-cpu-profile.js')).href}`,
              WHEP_CPU_PROF_DIR: profDir,
            }
          : {}),
      },
      waitFor: /listening on/,
    });
    const serverPinned = pinned && pin(service.pid, serverCore);
    console.log(
      serverPinned
        ? `server (pid ${service.pid}) pinned to core ${serverCore}; publisher, Redis and viewers to core ${clientCore}`
        : 'taskset unavailable: nothing pinned, everything shares every core',
    );
    const base = service.url;
    if (rungMode) {
      // The worker shares the client core: what is measured is the server's core.
      worker = await ServiceProcess.start({
        worker: true,
        env: {
          REDIS_URL: redis.url,
          DATA_DIR: path.join(dir, 'data'),
          MEDIA_DIR: path.join(dir, 'media'),
          HWACCEL: 'none',
          QUEUE_PREFIX: 'bench',
        },
      });
      const res = await fetch(`${base}/api/presets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'fanout',
          name: 'fan-out bench: one 720p rung',
          ladder: [
            { width: 1280, height: 720, fps: 30, videoBitrateKbps: kbps, codec: 'h264', profile: 'main' },
          ],
          audio: { codec: 'aac', bitrateKbps: 96, channels: 2, sampleRate: 48000 },
          gopSeconds: 1,
          segmentSeconds: 2,
          partSeconds: 0.2,
          encoders: { x264: { preset: 'ultrafast', tune: 'zerolatency' } },
        }),
      });
      if (res.status !== 201) throw new Error(`preset: ${res.status} ${await res.text()}`);
    }
    publisher = await WhipTestClient.publish({
      url: `${base}/whip/${STREAM}${rungMode ? '?preset=fanout' : ''}`,
      width: 1280,
      height: 720,
      fps: 30,
      videoBitrateKbps: kbps,
      inputFile: source,
      onRtp: () => void published++,
    });
    viewers = new ViewerProcess();
    const whep = `${base}/whep/${STREAM}${rungMode ? '?mode=rung' : ''}`;
    // WHEP answers 409 until the stream is live (first media in).
    for (let i = 0; ; i++) {
      const res = await fetch(`${base}/api/streams/${STREAM}`);
      if (res.ok) break;
      if (i > 100) throw new Error(`stream never went live: ${res.status}`);
      await sleep(100);
    }
    if (rungMode) {
      await waitForLadder(base, STREAM);
    }
    await sleep(1000);

    const measure = async (n: number): Promise<Step> => {
      if (n > 0) await viewers!.send({ cmd: 'grow', url: whep, total: n });
      await sleep(settleS * 1000);
      await viewers!.send({ cmd: 'reset' });
      const st0 = await serverStats(base);
      const p0 = published;
      const c0 = ownCpuSeconds(service!.pid);
      const v0 = ownCpuSeconds(viewers!.child.pid ?? -1);
      const m0 = machineCpu();
      const s0 = machineCpu(`cpu${serverCore}`);
      const k0 = machineCpu(`cpu${clientCore}`);
      const u0 = udpRcvbufErrors();
      const t0 = performance.now();
      await sleep(windowS * 1000);
      const c1 = ownCpuSeconds(service!.pid);
      const v1 = ownCpuSeconds(viewers!.child.pid ?? -1);
      const m1 = machineCpu();
      const s1 = machineCpu(`cpu${serverCore}`);
      const k1 = machineCpu(`cpu${clientCore}`);
      const u1 = udpRcvbufErrors();
      const wall = (performance.now() - t0) / 1000;
      const p1 = published;
      const st1 = await serverStats(base);
      const { reports = [] } = await viewers!.send({ cmd: 'report' });
      const losses = reports.map((r: ViewerReport) => {
        const exp = r.videoExpected + r.audioExpected;
        return exp > 0 ? (100 * (exp - r.videoReceived - r.audioReceived)) / exp : 100;
      });
      const cores = (c1 - c0) / wall;
      const mbps = reports.length
        ? (reports.reduce((a, r) => a + r.videoBytes, 0) * 8) / reports.length / wall / 1e6
        : NaN;
      return {
        n,
        cores,
        perViewerPct: NaN,
        lossMean: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : NaN,
        lossWorst: losses.length ? Math.max(...losses) : NaN,
        lossyViewers: losses.filter((l) => l >= maxLoss).length,
        mbps,
        machinePct: busyPercent(m0, m1),
        serverCorePct: busyPercent(s0, s1),
        clientCorePct: busyPercent(k0, k1),
        rcvbufErrors: u1 - u0,
        viewerCores: (v1 - v0) / wall,
        published: p1 - p0,
        deliveredPct: reports.length
          ? (100 * reports.reduce((a, r) => a + r.videoReceived + r.audioReceived, 0)) /
            reports.length /
            (p1 - p0)
          : NaN,
        server:
          st0 && st1
            ? {
                sent: (st1.packetsSent ?? 0) - (st0.packetsSent ?? 0),
                dropped: (st1.packetsDropped ?? 0) - (st0.packetsDropped ?? 0),
                retransmitted: (st1.retransmitted ?? 0) - (st0.retransmitted ?? 0),
                nacks: (st1.nacksReceived ?? 0) - (st0.nacksReceived ?? 0),
              }
            : null,
      };
    };

    const baseline = await measure(0);
    results.push(baseline);
    console.log(`baseline (0 viewers): server ${pct(baseline.cores * 100)}% of a core`);
    for (const n of steps) {
      const s = await measure(n);
      s.perViewerPct = (100 * (s.cores - baseline.cores)) / n;
      results.push(s);
      console.log(
        `N=${n}: server ${pct(s.cores * 100)}% of a core, ${pct(s.perViewerPct)}% per viewer, ` +
          `loss mean ${pct(s.lossMean)}% worst ${pct(s.lossWorst)}%, video ${pct(s.mbps)} Mb/s per viewer, viewers' process ${pct(s.viewerCores * 100)}% of a core; busy: machine ${s.machinePct.toFixed(0)}%, server's core ${s.serverCorePct.toFixed(0)}%, clients' core ${s.clientCorePct.toFixed(0)}%`,
      );
      console.log(
        `  publisher sent ${s.published} packets; kernel dropped ${s.rcvbufErrors} datagrams for full UDP receive buffers (a starved receiver); a viewer received ${pct(s.deliveredPct)}% of them (mean); server: ` +
          (s.server
            ? `${s.server.sent} sent to viewers, ${s.server.dropped} dropped (full queues), ${s.server.retransmitted} retransmitted for ${s.server.nacks} NACKs`
            : 'no drop/send counters (GET /api/streams/{stream} gives only the viewer count)'),
      );
      if (s.lossMean >= maxLoss || s.cores > 0.98) break;
    }
  } finally {
    await viewers?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    await worker?.close();
    await service?.close();
    await redis?.close();
  }
  if (values['cpu-prof']) {
    const profs = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    console.log('');
    console.log(`server profile (self time, whole run: ${profs.join(', ') || 'none written'})`);
    for (const f of profs) for (const l of topFunctions(path.join(profDir, f), 25)) console.log(`  ${l}`);
  }
  rmSync(dir, { recursive: true, force: true });

  console.log('');
  console.log(
    `WHEP fan-out summary: server alone on core ${serverCore}, publisher + viewers on core ${clientCore}; ` +
      `${os.cpus().length} CPUs, shared with whatever else runs (the busy columns)`,
  );
  console.log(
    'viewers  server CPU (% core)  per viewer (% core)  loss mean %  loss worst %  viewers >=1% loss  Mb/s per viewer  viewer proc (% core)  busy: machine / server core / client core %',
  );
  for (const s of results) {
    console.log(
      `${String(s.n).padStart(7)}  ${pct(s.cores * 100).padStart(19)}  ${pct(s.perViewerPct).padStart(19)}` +
        `  ${pct(s.lossMean).padStart(11)}  ${pct(s.lossWorst).padStart(12)}  ${String(s.n ? s.lossyViewers : '–').padStart(17)}` +
        `  ${pct(s.mbps).padStart(15)}  ${pct(s.viewerCores * 100).padStart(20)}  ${`${s.machinePct.toFixed(0)} / ${s.serverCorePct.toFixed(0)} / ${s.clientCorePct.toFixed(0)}`.padStart(24)}`,
    );
  }
  const passed = results.filter((s) => s.n > 0 && s.lossMean < maxLoss && s.cores <= 0.98);
  const best = passed.length ? Math.max(...passed.map((s) => s.n)) : 0;
  const measured = results.filter((s) => s.n > 0 && Number.isFinite(s.perViewerPct));
  const last = measured[measured.length - 1];
  const extrapolated = last && last.perViewerPct > 0 ? Math.floor(100 / last.perViewerPct) : NaN;
  const limitedBy =
    results.length - 1 > passed.length ? 'a step failed (loss or CPU)' : 'the last step (all passed)';
  console.log(
    `most viewers served at < ${maxLoss}% loss within one core: ${best} (limited by ${limitedBy}); ` +
      `1 core / CPU per viewer at the largest step: ${Number.isFinite(extrapolated) ? extrapolated : '–'};` +
      `  target >= ${TARGET_PER_CORE}: ${best >= TARGET_PER_CORE ? 'ok' : 'BELOW TARGET'}`,
  );
  console.log(
    "loss while the viewers' process is near 100% of a core or the machine near 100% busy is the bench's own " +
      `limit, not necessarily the server's; load average at the end ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

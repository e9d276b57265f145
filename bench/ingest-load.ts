/**
 * bench/ingest-load: how many WHIP publishers one core of the service takes, and what a
 * burst of publishers at once does to the default deployment (issue 12, point 7).
 *
 * Steps (WHEP-only: ROLES=api,ingest, no worker, so nothing is transcoded; live jobs are
 * queued and wait): N publishers of one pre-encoded 640x360p30 H.264 stream at 1 Mb/s CBR
 * + Opus 64 kb/s (bench/lib/rtp-feed.ts: one ffmpeg, streams copied, every packet handed to
 * each publisher's werift track), N = 10, 20, ... up to the ingest's session cap (64). The
 * service is pinned to one core (`taskset`, --server-core); this process (the publishers),
 * the private Redis and the /healthz prober (its own process, bench/lib/healthz-probe.ts)
 * to the other (--client-core). After --settle s, over a --window s window: the ingest's
 * own loss counters for every stream (RFC 3550 packets lost after NACK repair, frames
 * dropped), the packets each publisher sent against what the server received, the kernel's
 * UDP receive-buffer drops, /healthz latency every 50 ms on a new connection (p50, p99,
 * max), the service's CPU, and how busy both cores were (other users of the machine
 * included). A step passes with no packet lost, no frame dropped, every session connected
 * and /healthz p99 < 100 ms; the steps stop at the first that fails.
 *
 * Burst (the default deployment: `npm start`'s roles and defaults, pinned the same way):
 * --burst publishers POST at once, first all from 127.0.0.1 (one client: the per-client
 * cap MAX_PUBLISHES_PER_CLIENT applies), then each from its own loopback address
 * (127.0.1.x: many clients), each time on a fresh service. Every publisher is either
 * served (201, ICE connected, the server receiving its packets), refused cleanly (429 or
 * 503 with Retry-After, and nothing left of it on the server), or half-connected (any
 * other outcome: the failure this bench looks for). It also prints where the live jobs
 * stand (one worker, WORKER_CONCURRENCY=1: one transcodes, the rest wait).
 *
 *   npm run bench:ingest-load -- [--steps 10,20,30,40,50,60] [--window 10] [--settle 4] [--burst 30]
 *                                [--only steps|burst] [--server-core 0] [--client-core 1]
 *
 * Loopback only; every loop is bounded and the whole run stops by itself after --deadline
 * seconds (default 900) whatever happens.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { terminate } from '../src/core/child.js';
import type { StreamView } from '../src/core/streams.js';
import { PrivateRedis } from '../src/core/redis-server.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { WhipPostError, WhipTestClient } from '../test/helpers/whip-client.js';
import { busyPercent, machineCpu, ownCpuSeconds } from './lib/cpu.js';
import { encodeSource } from './lib/encoded-source.js';
import type { ProbeCommand, ProbeReport } from './lib/healthz-probe.js';
import { pin, udpRcvbufErrors } from './lib/pinning.js';
import { RtpFeed } from './lib/rtp-feed.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '10,20,30,40,50,60' },
    window: { type: 'string', default: '10' },
    settle: { type: 'string', default: '4' },
    burst: { type: 'string', default: '30' },
    only: { type: 'string', default: '' },
    'server-core': { type: 'string', default: '0' },
    'client-core': { type: 'string', default: '1' },
    deadline: { type: 'string', default: '900' },
  },
});
const serverCore = values['server-core'];
const clientCore = values['client-core'];
const steps = values.steps.split(',').map(Number);
const windowS = Number(values.window);
const settleS = Number(values.settle);
const burst = Number(values.burst);
const TARGET = 50;
const P99_LIMIT_MS = 100;
/** The ingest's session cap (IngestRegistry maxSessions): a step beyond it would measure 503s. */
const SESSION_CAP = 64;
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

/** The /healthz prober's process: one command, one answer. */
class Prober {
  readonly child: ChildProcess;

  constructor(url: string) {
    this.child = fork(path.join(here, 'lib', 'healthz-probe.js'), [], {
      env: { PATH: process.env.PATH ?? '', PROBE_URL: `${url}/healthz`, PROBE_EVERY_MS: '50' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    // It shares the publishers' core: ahead of them, it measures the service's answer, not
    // how long the publishers kept it from asking (needs root or CAP_SYS_NICE; else as is).
    try {
      os.setPriority(this.child.pid ?? 0, -10);
      this.raised = true;
    } catch {
      this.raised = false;
    }
  }

  /** Whether the prober runs ahead of the publishers on their core. */
  raised = false;

  send<T>(m: ProbeCommand): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`prober: ${m.cmd} timed out`)), 10_000);
      this.child.once('message', (a: T) => {
        clearTimeout(timer);
        resolve(a);
      });
      this.child.send(m);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.send({ cmd: 'stop' });
    await terminate(this.child, 2000);
  }
}

interface StreamCounters {
  connected: boolean;
  received: number;
  lost: number;
  framesDropped: number;
}

/** Every stream's ingest counters, by id (GET /api/streams: the server's own view). */
async function counters(base: string): Promise<Map<string, StreamCounters>> {
  const { streams } = (await (await fetch(`${base}/api/streams`)).json()) as { streams: StreamView[] };
  const out = new Map<string, StreamCounters>();
  for (const s of streams) {
    const i = s.ingest;
    if (s.state !== 'live' || !i) continue;
    out.set(s.id, {
      connected: i.connectionState === 'connected',
      received: (i.video?.packetsReceived ?? 0) + (i.audio?.packetsReceived ?? 0),
      lost: (i.video?.packetsLost ?? 0) + (i.audio?.packetsLost ?? 0),
      framesDropped: i.video?.framesDropped ?? 0,
    });
  }
  return out;
}

interface Step {
  n: number;
  connected: number;
  lost: number;
  framesDropped: number;
  /** Per publisher: packets sent in the window minus packets the server received, worst and mean. */
  shortWorst: number;
  shortMean: number;
  sentPerPublisher: number;
  rcvbufErrors: number;
  probe: ProbeReport;
  serverCorePct: number;
  /** This process (the publishers' werift peers and the feed), % of a core. */
  publishersPct: number;
  serverCoreBusyPct: number;
  clientCoreBusyPct: number;
  pass: boolean;
}

const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** Whether other processes took more than a sixth of the service's core during the window. */
const contended = (s: Step) => s.serverCoreBusyPct - s.serverCorePct > 15;

async function publishersSteps(dir: string, source: string): Promise<void> {
  console.log(
    `\nsteps: N publishers of 640x360p30 H.264 1 Mb/s + Opus into ROLES=api,ingest (no transcode); ` +
      `${windowS} s windows after ${settleS} s; steps ${steps.join(', ')}`,
  );
  const redis = await PrivateRedis.start();
  let service: ServiceProcess | null = null;
  let prober: Prober | null = null;
  let feed: RtpFeed | null = null;
  const publishers: WhipTestClient[] = [];
  const results: Step[] = [];
  const idle = { pct: 0 };
  try {
    service = await ServiceProcess.start({
      env: {
        REDIS_URL: redis.url,
        PORT: '0',
        ROLES: 'api,ingest',
        DATA_DIR: path.join(dir, 'steps-data'),
        HWACCEL: 'none',
        QUEUE_PREFIX: 'ingestload',
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
        MAX_PUBLISHES_PER_CLIENT: String(SESSION_CAP),
      },
      waitFor: /listening on/,
    });
    const pinned = pin(service.pid, serverCore);
    console.log(
      pinned
        ? `service (pid ${service.pid}) on core ${serverCore}; publishers, Redis and the prober on core ${clientCore}`
        : 'taskset unavailable: nothing pinned',
    );
    const base = service.url;
    prober = new Prober(base);
    console.log(
      prober.raised
        ? '/healthz prober at nice -10, ahead of the publishers on their core'
        : '/healthz prober at normal priority (no CAP_SYS_NICE): busy publishers delay it too',
    );
    feed = await RtpFeed.start(source);
    // What the idle service costs (Redis heartbeats, timers), so a publisher's share excludes it.
    const idle0 = ownCpuSeconds(service.pid);
    await sleep(windowS * 1000);
    idle.pct = (100 * (ownCpuSeconds(service.pid) - idle0)) / windowS;
    console.log(`N=0: service ${fmt(idle.pct, 1)} % of a core idle`);
    const [svc, pr, fd] = [service, prober, feed];
    /** One window at N publishers: the service's figures, and whether the step passes. */
    const measure = async (n: number): Promise<Step> => {
      // The stats read (a Redis look-up per stream) happens outside the probes' window.
      const c0 = await counters(base);
      await pr.send({ cmd: 'reset' });
      const sent0 = fd.sent;
      const cpu0 = ownCpuSeconds(svc.pid);
      const pub0 = ownCpuSeconds(process.pid);
      const s0 = machineCpu(`cpu${serverCore}`);
      const k0 = machineCpu(`cpu${clientCore}`);
      const u0 = udpRcvbufErrors();
      const t0 = performance.now();
      await sleep(windowS * 1000);
      const wall = (performance.now() - t0) / 1000;
      const cpu1 = ownCpuSeconds(svc.pid);
      const pub1 = ownCpuSeconds(process.pid);
      const s1 = machineCpu(`cpu${serverCore}`);
      const k1 = machineCpu(`cpu${clientCore}`);
      const u1 = udpRcvbufErrors();
      const sent = fd.sent - sent0;
      const probe = await pr.send<ProbeReport>({ cmd: 'report' });
      const c1 = await counters(base);
      let lost = 0;
      let framesDropped = 0;
      let connected = 0;
      const shorts: number[] = [];
      for (let i = 0; i < n; i++) {
        const a = c0.get(`load${i}`);
        const b = c1.get(`load${i}`);
        if (!a || !b) {
          shorts.push(sent);
          continue;
        }
        if (b.connected) connected++;
        lost += b.lost - a.lost;
        framesDropped += b.framesDropped - a.framesDropped;
        shorts.push(sent - (b.received - a.received));
      }
      const step: Step = {
        n,
        connected,
        lost,
        framesDropped,
        shortWorst: Math.max(...shorts),
        shortMean: shorts.reduce((x, y) => x + y, 0) / shorts.length,
        sentPerPublisher: sent,
        rcvbufErrors: u1 - u0,
        probe,
        serverCorePct: (100 * (cpu1 - cpu0)) / wall,
        publishersPct: (100 * (pub1 - pub0)) / wall,
        serverCoreBusyPct: busyPercent(s0, s1),
        clientCoreBusyPct: busyPercent(k0, k1),
        pass: false,
      };
      step.pass =
        connected === n &&
        lost === 0 &&
        framesDropped === 0 &&
        probe.failed === 0 &&
        probe.p99 < P99_LIMIT_MS &&
        step.serverCorePct <= 98;
      return step;
    };
    const report = (step: Step, verdict: string) => {
      const { n, probe } = step;
      console.log(
        `N=${n}: ${verdict}; connected ${step.connected}/${n}; lost ${step.lost} packets, ${step.framesDropped} frames dropped; ` +
          `each publisher sent ${step.sentPerPublisher} packets in the window, sent minus received per stream: mean ${fmt(step.shortMean)}, worst ${step.shortWorst}; ` +
          `kernel UDP drops ${step.rcvbufErrors}; /healthz p50 ${fmt(probe.p50)} ms p99 ${fmt(probe.p99)} ms max ${fmt(probe.max)} ms (${probe.n} probes, ${probe.failed} failed); ` +
          `service ${fmt(step.serverCorePct, 0)} % of a core, publishers ${fmt(step.publishersPct, 0)} %; busy: server core ${fmt(step.serverCoreBusyPct, 0)} %, client core ${fmt(step.clientCoreBusyPct, 0)} %; load ${loadavg()}`,
      );
    };
    for (const n of steps) {
      if (n > SESSION_CAP) {
        console.log(`N=${n}: beyond the ingest's session cap (${SESSION_CAP}); not measured`);
        break;
      }
      while (publishers.length < n) {
        const p = await WhipTestClient.publish({
          url: `${base}/whip/load${publishers.length}`,
          noMedia: true,
        });
        publishers.push(p);
        feed.targets.add(p);
      }
      await sleep(settleS * 1000);
      let step = await measure(n);
      // Other processes on the service's core (this machine is shared) make a failure
      // say nothing about the service: such a step is measured once more.
      for (let again = 0; !step.pass && contended(step) && again < 2; again++) {
        report(
          step,
          `inconclusive (other processes took ${fmt(step.serverCoreBusyPct - step.serverCorePct, 0)} % of the service's core); measuring again`,
        );
        await sleep(2000);
        step = await measure(n);
      }
      results.push(step);
      report(step, step.pass ? 'ok' : contended(step) ? 'FAILED, contended' : 'FAILED');
      if (!step.pass) break;
    }
  } finally {
    await feed?.close().catch(() => undefined);
    await Promise.allSettled(publishers.map((p) => p.close()));
    await prober?.close().catch(() => undefined);
    await service?.close();
    await redis.close();
  }
  const passed = results.filter((s) => s.pass).map((s) => s.n);
  const best = passed.length ? Math.max(...passed) : 0;
  const last = results[results.length - 1];
  const perPublisher = last && last.n > 0 ? (last.serverCorePct - idle.pct) / last.n : NaN;
  console.log(
    `publishers one core takes with no loss and /healthz p99 < ${P99_LIMIT_MS} ms: ${best}` +
      `${best === Math.min(SESSION_CAP, Math.max(...steps)) ? ' (every step passed)' : ''}; ` +
      `${fmt(perPublisher, 2)} % of a core per publisher at N=${last?.n ?? '–'} over the idle ${fmt(idle.pct, 1)} % ` +
      `(about ${fmt((100 - idle.pct) / perPublisher, 0)} by CPU alone); ` +
      `target >= ${TARGET}: ${best >= TARGET ? 'ok' : 'BELOW TARGET'}` +
      (last && !last.pass && contended(last)
        ? `; stopped at N=${last.n} with other processes on the service's core: what the machine allowed, not the service's limit`
        : ''),
  );
}

type Outcome = 'served' | 'refused' | 'half';

/** One burst: `burst` publishers POST at once to a fresh default deployment. */
async function burstOnce(dir: string, source: string, spread: boolean): Promise<void> {
  const label = spread ? `${burst} clients (127.0.1.x)` : 'one client (127.0.0.1)';
  const redis = await PrivateRedis.start();
  let service: ServiceProcess | null = null;
  let feed: RtpFeed | null = null;
  const publishers: WhipTestClient[] = [];
  try {
    // The default deployment: every role, every default; only its port, data and Redis are the bench's.
    service = await ServiceProcess.start({
      env: {
        REDIS_URL: redis.url,
        PORT: '0',
        DATA_DIR: path.join(dir, `burst-data-${spread ? 'many' : 'one'}`),
        HWACCEL: 'none',
        QUEUE_PREFIX: `burst${spread ? 'many' : 'one'}`,
        LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      },
      waitFor: /listening on/,
    });
    pin(service.pid, serverCore);
    const base = service.url;
    feed = await RtpFeed.start(source);
    const t0 = performance.now();
    const attempts = await Promise.allSettled(
      Array.from({ length: burst }, (_, i) =>
        WhipTestClient.publish({
          url: `${base}/whip/burst${i}`,
          noMedia: true,
          ...(spread ? { localAddress: `127.0.1.${i + 1}` } : {}),
        }),
      ),
    );
    const answeredMs = performance.now() - t0;
    for (const a of attempts) {
      if (a.status === 'fulfilled') {
        publishers.push(a.value);
        feed.targets.add(a.value);
      }
    }
    await sleep(3000);
    const c0 = await counters(base);
    await sleep(3000);
    const c1 = await counters(base);
    const outcomes: Outcome[] = [];
    const why = new Map<string, number>();
    const count = (k: string) => why.set(k, (why.get(k) ?? 0) + 1);
    for (let i = 0; i < burst; i++) {
      const a = attempts[i]!;
      const id = `burst${i}`;
      const b = c1.get(id);
      if (a.status === 'fulfilled') {
        const flowing = b !== undefined && b.connected && b.received > (c0.get(id)?.received ?? Infinity);
        outcomes.push(flowing ? 'served' : 'half');
        if (!flowing)
          count(b ? 'connected but no media at the server' : 'connected but no stream at the server');
        continue;
      }
      const e = a.reason as unknown;
      const clean =
        e instanceof WhipPostError &&
        (e.status === 429 || e.status === 503) &&
        e.retryAfter !== null &&
        (await fetch(`${base}/api/streams/${id}`)).status === 404;
      outcomes.push(clean ? 'refused' : 'half');
      count(
        e instanceof WhipPostError
          ? `${e.status}${e.retryAfter ? ` (Retry-After ${e.retryAfter})` : ' without Retry-After'}: ${e.body.trim().slice(0, 80)}`
          : `error: ${e instanceof Error ? e.message.slice(0, 80) : String(e)}`,
      );
    }
    const { jobs } = (await (await fetch(`${base}/api/jobs`)).json()) as {
      jobs: { queue: string; state: string }[];
    };
    const live = jobs.filter((j) => j.queue === 'live');
    const states = [...new Set(live.map((j) => j.state))]
      .map((s) => `${live.filter((j) => j.state === s).length} ${s}`)
      .join(', ');
    const n = (o: Outcome) => outcomes.filter((x) => x === o).length;
    console.log(
      `burst of ${burst} from ${label} into the default deployment: ${n('served')} served, ${n('refused')} refused cleanly, ` +
        `${n('half')} half-connected; all answered within ${fmt(answeredMs / 1000, 2)} s; live jobs: ${states || 'none'}; load ${loadavg()}`,
    );
    for (const [k, v] of why) console.log(`  ${v} x ${k}`);
  } finally {
    await feed?.close().catch(() => undefined);
    await Promise.allSettled(publishers.map((p) => p.close()));
    await service?.close();
    await redis.close();
  }
}

async function main(): Promise<void> {
  const deadline = setTimeout(
    () => {
      console.error(`ingest-load: still running after ${values.deadline} s; giving up`);
      process.exit(1);
    },
    Number(values.deadline) * 1000,
  );
  deadline.unref();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-ingest-load-'));
  // Everything this process starts (Redis, ffmpeg, the prober) inherits the pinning.
  pin(process.pid, clientCore);
  console.log(`ingest-load: ${os.cpus().length} CPUs, load average ${loadavg()} at start`);
  try {
    const source = path.join(dir, 'source.ts');
    encodeSource(source, { width: 640, height: 360, kbps: 1000 });
    if (values.only !== 'burst') await publishersSteps(dir, source);
    if (values.only !== 'steps') {
      console.log('');
      await burstOnce(dir, source, false);
      await burstOnce(dir, source, true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load average at the end ${loadavg()}`);
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

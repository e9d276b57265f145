/**
 * bench/origin: what one origin process does for LL-HLS viewers.
 *
 * 1. Held requests. N clients (default 5,000) each hold a blocking playlist request for
 *    the next part (`?_HLS_msn=M&_HLS_part=P`, the preload hint) on its own keep-alive
 *    connection; a fake packager (bench/lib/origin-feed.ts: the real LiveTimeline, part
 *    bytes written to storage, then the event on the real RedisLiveBus) publishes the
 *    part; per request: publish → answer received. Over several rounds (one part each,
 *    after an unmeasured round that opens the connections): p50/p95/p99/max, how many
 *    were answered with a playlist listing the part, and the origin's RSS with N held.
 *    Target: 5,000 held, p99 <= 50 ms.
 * 1b. The floor under that figure (bench/lib/origin-floor.ts): the same N held requests
 *    on the same client connections, answered in one loop by a bare TCP server writing
 *    the prebuilt bytes our origin sends, and by bare node:http with the same status,
 *    headers and body; release (loop start) → answer received, as for ours. What the
 *    machine's loopback TCP and node's HTTP layer cost before any origin logic.
 * 2. Parts per second. The same part files (0.2 s of a 2.5 Mb/s rung, ~62 KB of random
 *    bytes, the parts the top rung's playlist lists) served by our origin
 *    (GET /hls/{stream}/{part}) and by nginx (/usr/sbin/nginx, one worker process,
 *    sendfile) from the same storage folder; C concurrent keep-alive connections for
 *    S seconds each: req/s, MB/s, and the ratio ours/nginx.
 *
 * The origin is the real Service (ROLES=api, as `npm start` configures it from the
 * environment) against a private Redis, in its own process (bench/lib/origin-server.ts).
 * The clients run in another process (bench/lib/origin-clients.ts) on bare keep-alive
 * sockets (bench/lib/origin-http.ts). With two CPUs or more, the origin (and nginx) are
 * pinned to CPU 0 and the clients to CPU 1 with taskset. The machine's busy share over
 * each phase (/proc/stat, every process) is printed beside the figures: on a shared
 * machine other work inflates them.
 *
 *   npm run bench:origin -- [--held 5000] [--rounds 10] [--seconds 10] [--connections 64]
 *       [--part-bytes 62500] [--identity] [--only held|floor|parts]
 *
 * BENCH_CPU_PROF=DIR writes the origin's V8 CPU profile (node --cpu-prof) into DIR;
 * BENCH_ORIGIN_NODE_ARGS adds node/V8 flags to the origin's command line (experiments);
 * BENCH_LOG_LEVEL sets the origin's log level (default warn).
 *
 * Clients send `Accept-Encoding: gzip, deflate, br` as browsers do (`--identity`: none).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { terminate } from '../src/core/child.js';
import { PrivateRedis } from '../src/core/redis-server.js';
import { presenceChannel, RedisLiveBus } from '../src/packager/live/redis-bus.js';
import { LocalStorage } from '../src/packager/storage/local.js';
import { busyPercent, machineCpu, ownCpuSeconds } from './lib/cpu.js';
import type { ClientAnswer, ClientCommand, HoldResult, LoadResult } from './lib/origin-clients.js';
import type { FloorMessage } from './lib/origin-floor.js';
import { RawConnection } from './lib/origin-http.js';
import { LiveFeed } from './lib/origin-feed.js';
import { NginxServer } from './lib/origin-nginx.js';
import type { ServerMessage } from './lib/origin-server.js';

const { values } = parseArgs({
  options: {
    held: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    'part-bytes': { type: 'string', default: '62500' },
    identity: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
if (values.only !== undefined && !['held', 'floor', 'parts'].includes(values.only)) {
  throw new Error(`--only must be held, floor or parts, not ${values.only}`);
}
/** Which phases run (--only held|floor|parts: one, e.g. for a CPU profile of that phase alone). */
const RUN_HELD = values.only === undefined || values.only === 'held';
const RUN_FLOOR = values.only === undefined || values.only === 'floor';
const RUN_PARTS = values.only === undefined || values.only === 'parts';
const HELD = Number(values.held);
const ROUNDS = Number(values.rounds);
const LOAD_SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const PART_BYTES = Number(values['part-bytes']);
const GZIP = !values.identity;
const STREAM = 'bench';
const TOP = '720p';
const PART_SECONDS = 0.2;
const PARTS_PER_SEGMENT = 10;
const TARGET_DURATION = 2;
const TARGET = { held: 5000, p99Ms: 50 };
const PREFIX = 'bench-origin';
const TWO_CPUS = os.cpus().length >= 2;
const SERVER_CPU = 0;
const CLIENT_CPU = 1;

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const wallMs = (): number => performance.timeOrigin + performance.now();

/** Resident set of a process, MB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resolves once a process other than this one listens on the live bus (the origin). */
async function originListening(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: false });
  try {
    for (let i = 0; i < 200; i++) {
      const reply = (await probe.call('PUBSUB', 'NUMSUB', presenceChannel(PREFIX))) as [string, number];
      if (Number(reply[1]) > 0) return;
      await sleep(25);
    }
    throw new Error('the origin never subscribed to the live bus');
  } finally {
    probe.disconnect();
  }
}

/** Children of `pid` (nginx's worker). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** fork, pinned to `cpu` with taskset when there are two CPUs; `nodeArgs` go to node. */
function forkPinned(
  script: string,
  cpu: number,
  env?: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): ChildProcess {
  return fork(path.join(here, 'lib', script), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(env ? { env } : {}),
    ...(TWO_CPUS
      ? { execPath: '/usr/bin/taskset', execArgv: ['-c', String(cpu), process.execPath, ...nodeArgs] }
      : { execArgv: nodeArgs }),
  });
}

/** Sends `msg` to a forked child and resolves with its answer carrying the same id. */
function ask<M>(child: ChildProcess, msg: { cmd: string; id: number }): Promise<M> {
  return new Promise((resolve) => {
    const on = (m: M) => {
      if (typeof m === 'object' && m !== null && 'id' in m && m.id === msg.id) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send(msg);
  });
}

/** The origin's process (bench/lib/origin-server.ts). */
class OriginProcess {
  readonly child: ChildProcess;
  url = '';
  #id = 0;

  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(env: NodeJS.ProcessEnv): Promise<OriginProcess> {
    // BENCH_CPU_PROF=DIR: the origin writes a V8 CPU profile there when it exits.
    const prof = process.env.BENCH_CPU_PROF;
    const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(prof)] : [];
    // BENCH_ORIGIN_NODE_ARGS: more node/V8 flags for the origin (e.g. --max-semi-space-size=64).
    nodeArgs.push(...(process.env.BENCH_ORIGIN_NODE_ARGS ?? '').split(/\s+/).filter(Boolean));
    const o = new OriginProcess(forkPinned('origin-server.js', SERVER_CPU, env, nodeArgs));
    o.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('origin did not start in 30 s')), 30_000);
      o.child.once('exit', (code) => reject(new Error(`origin exited with ${code}`)));
      o.child.on('message', (m: ServerMessage) => {
        if ('ready' in m) {
          clearTimeout(timer);
          resolve(m.url);
        }
      });
    });
    return o;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async held(): Promise<number> {
    const m = await ask<ServerMessage>(this.child, { cmd: 'held', id: ++this.#id });
    return 'held' in m ? m.held : -1;
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await terminate(this.child, 10_000);
  }
}

/** A floor server's process (bench/lib/origin-floor.ts), pinned where the origin runs. */
class FloorProcess {
  readonly child: ChildProcess;
  url = '';
  #id = 0;

  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(mode: 'net' | 'http'): Promise<FloorProcess> {
    const env = { PATH: process.env.PATH ?? '', FLOOR_MODE: mode };
    const f = new FloorProcess(forkPinned('origin-floor.js', SERVER_CPU, env));
    f.url = await new Promise<string>((resolve, reject) => {
      f.child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
      f.child.on('message', (m: FloorMessage) => {
        if ('ready' in m) resolve(m.url);
      });
    });
    return f;
  }

  response(head: string[], body: Buffer): void {
    this.child.send({ cmd: 'response', head, body: body.toString('base64') });
  }

  async held(): Promise<number> {
    const m = await ask<FloorMessage>(this.child, { cmd: 'held', id: ++this.#id });
    return 'held' in m ? m.held : -1;
  }

  async release(): Promise<{ releasedMs: number; loopMs: number }> {
    const m = await ask<FloorMessage>(this.child, { cmd: 'release', id: ++this.#id });
    if (!('releasedMs' in m)) throw new Error('floor server: no release answer');
    return m;
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await terminate(this.child, 5000);
  }
}

interface FloorResult {
  mode: 'net' | 'http';
  latencies: number[];
  loopMs: number[];
  answered: number;
}

/**
 * `rounds` rounds of HELD requests held by a floor server and released at once; the
 * response it sends is `answer` (our origin's own answer to the same request).
 */
async function floorRounds(
  mode: 'net' | 'http',
  answer: { head: string[]; body: Buffer },
  expect: string,
  rounds: number,
): Promise<FloorResult> {
  const floor = await FloorProcess.start(mode);
  const clients = new ClientProcess();
  const out: FloorResult = { mode, latencies: [], loopMs: [], answered: 0 };
  try {
    // node:http writes its own Date, Connection and Keep-Alive, as it does for our origin.
    const own = /^(date|connection|keep-alive)$/i;
    const head: string[] = [];
    for (let i = 0; i < answer.head.length; i += 2) {
      if (mode === 'net' || !own.test(answer.head[i]!)) head.push(answer.head[i]!, answer.head[i + 1]!);
    }
    floor.response(head, answer.body);
    const u = new URL(floor.url);
    const c = await clients.send({ cmd: 'connect', host: u.hostname, port: Number(u.port), n: HELD });
    if (c.connected !== HELD) throw new Error(`floor ${mode}: only ${c.connected} of ${HELD} connections`);
    for (let i = 0; i <= rounds; i++) {
      let onSent = (): void => undefined;
      const sent = new Promise<void>((resolve) => (onSent = resolve));
      const answered = clients.send({ cmd: 'hold', path: '/floor', gzip: GZIP, expect }, () => onSent());
      await Promise.race([sent, answered]);
      const deadline = Date.now() + 2000;
      while ((await floor.held()) < HELD && Date.now() < deadline) await sleep(5);
      await sleep(100);
      const { releasedMs, loopMs } = await floor.release();
      const hold = (await answered).hold!;
      if (i === 0) continue; // the first round warms the connections up, unmeasured
      const lat = hold.received.filter(Number.isFinite).map((t) => t - releasedMs);
      out.latencies.push(...lat);
      out.loopMs.push(loopMs);
      out.answered += lat.length;
      await sleep(100);
    }
  } finally {
    await clients.close();
    await floor.close();
  }
  out.latencies.sort((a, b) => a - b);
  return out;
}

/** Our origin's answer to `path` (a playlist, from memory): header pairs and body bytes. */
async function originAnswer(base: string, path: string): Promise<{ head: string[]; body: Buffer }> {
  const u = new URL(base);
  const conn = await RawConnection.connect(u.hostname, Number(u.port));
  try {
    const r = await conn.get(path, {
      headers: GZIP ? 'Accept-Encoding: gzip, deflate, br\r\n' : '',
      keepBody: true,
    });
    if (r.status !== 200) throw new Error(`origin answered ${r.status} to ${path}`);
    const head: string[] = [];
    for (const line of r.head.split('\r\n').slice(1)) {
      const i = line.indexOf(':');
      head.push(line.slice(0, i), line.slice(i + 1).trim());
    }
    return { head, body: r.body };
  } finally {
    conn.close();
  }
}

type Command = ClientCommand extends infer C ? (C extends unknown ? Omit<C, 'id'> : never) : never;

/** The clients' process (bench/lib/origin-clients.ts). */
class ClientProcess {
  readonly child = forkPinned('origin-clients.js', CLIENT_CPU);
  #id = 0;

  send(c: Command, onSent?: (sentMs: number) => void): Promise<Extract<ClientAnswer, { kind: 'done' }>> {
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`client process exited during ${c.cmd}`));
      const on = (a: ClientAnswer) => {
        if (a.id !== id) return;
        if (a.kind === 'sent') return onSent?.(a.sentMs);
        this.child.off('message', on);
        this.child.off('exit', onExit);
        if (a.kind === 'error') reject(new Error(`clients: ${a.error}`));
        else resolve(a);
      };
      this.child.on('message', on);
      this.child.once('exit', onExit);
      this.child.send({ ...c, id });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) {
      await Promise.race([this.send({ cmd: 'close' }).catch(() => undefined), sleep(5000)]);
    }
    await terminate(this.child, 3000);
  }
}

interface Round {
  latencies: number[];
  hold: HoldResult;
  /** Requests the origin held when the part was published. */
  heldAtPublish: number;
  /** From the last request written to the origin holding them all, ms. */
  settleMs: number;
  rssMb: number;
}

interface Load {
  name: string;
  r: LoadResult;
  rps: number;
  mbps: number;
  /** CPU of the serving process(es) and of the clients, in cores. */
  serverCores: number;
  clientCores: number;
  machinePct: number;
}

async function heldRound(origin: OriginProcess, clients: ClientProcess, feed: LiveFeed): Promise<Round> {
  const next = feed.next(TOP);
  let sentMs = 0;
  let onSent = (): void => undefined;
  const sent = new Promise<void>((resolve) => (onSent = resolve));
  const answered = clients.send(
    {
      cmd: 'hold',
      path: `/hls/${STREAM}/${TOP}.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`,
      gzip: GZIP,
      expect: `URI="${next.uri}"`,
    },
    (ms) => {
      sentMs = ms;
      onSent();
    },
  );
  await Promise.race([sent, answered]);
  // Publish once the origin holds every request (or after a second: whatever it holds then).
  const deadline = Date.now() + 1000;
  let heldNow = await origin.held();
  while (heldNow < HELD && Date.now() < deadline) {
    await sleep(5);
    heldNow = await origin.held();
  }
  const settleMs = wallMs() - sentMs;
  const rss = rssMb(origin.pid);
  const { publishedMs } = await feed.publish(TOP);
  const hold = (await answered).hold!;
  const latencies = hold.received.map((t) => t - publishedMs);
  return { latencies, hold, heldAtPublish: heldNow, settleMs, rssMb: rss };
}

async function loadTest(
  name: string,
  clients: ClientProcess,
  url: string,
  paths: string[],
  serverPids: () => number[],
): Promise<Load> {
  const u = new URL(url);
  const m0 = machineCpu();
  const pids = serverPids();
  const s0 = pids.reduce((a, p) => a + ownCpuSeconds(p), 0);
  const c0 = ownCpuSeconds(clients.pid);
  const t0 = performance.now();
  const { load } = await clients.send({
    cmd: 'load',
    host: u.hostname,
    port: Number(u.port),
    paths,
    connections: CONNECTIONS,
    seconds: LOAD_SECONDS,
    gzip: GZIP,
  });
  const wall = (performance.now() - t0) / 1000;
  const s1 = pids.reduce((a, p) => a + ownCpuSeconds(p), 0);
  const c1 = ownCpuSeconds(clients.pid);
  const m1 = machineCpu();
  const r = load!;
  return {
    name,
    r,
    rps: r.requests / r.seconds,
    mbps: r.bytes / 1e6 / r.seconds,
    serverCores: (s1 - s0) / wall,
    clientCores: (c1 - c0) / wall,
    machinePct: busyPercent(m0, m1),
  };
}

const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-origin-'));
  const dataDir = path.join(dir, 'data');
  let redis: PrivateRedis | null = null;
  let origin: OriginProcess | null = null;
  let clients: ClientProcess | null = null;
  let nginx: NginxServer | null = null;
  let bus: RedisLiveBus | null = null;
  console.log(
    `origin bench: ${HELD} held blocking requests x ${ROUNDS} rounds; parts of ${PART_BYTES} bytes ` +
      `(${PART_SECONDS} s of ${((PART_BYTES * 8) / PART_SECONDS / 1e6).toFixed(2)} Mb/s), ${CONNECTIONS} connections x ` +
      `${LOAD_SECONDS} s vs nginx; ${GZIP ? 'Accept-Encoding: gzip' : 'identity'}; ${os.cpus().length} CPUs ` +
      `(${TWO_CPUS ? `origin/nginx on CPU ${SERVER_CPU}, clients on CPU ${CLIENT_CPU}` : 'not pinned'}), ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  );
  try {
    redis = await PrivateRedis.start();
    origin = await OriginProcess.start({
      PATH: process.env.PATH ?? '',
      REDIS_URL: redis.url,
      HOST: '127.0.0.1',
      PORT: '0',
      ROLES: 'api',
      DATA_DIR: dataDir,
      QUEUE_PREFIX: PREFIX,
      HWACCEL: 'none',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      // Every held request comes from this one machine: the per-client cap must not be what is measured.
      MAX_HELD_PER_CLIENT: '1000000',
    });
    const base = origin.url;
    const storage = new LocalStorage(path.join(dataDir, 'hls'));
    bus = new RedisLiveBus({ url: redis.url, prefix: PREFIX });
    const feed = new LiveFeed({
      streamId: STREAM,
      storage,
      bus,
      partSeconds: PART_SECONDS,
      partsPerSegment: PARTS_PER_SEGMENT,
      targetDuration: TARGET_DURATION,
      renditions: [
        { name: TOP, partBytes: PART_BYTES },
        { name: '480p', partBytes: Math.round(PART_BYTES * 0.48) },
        { name: '360p', partBytes: Math.round(PART_BYTES * 0.28) },
        { name: 'audio', partBytes: 2400 },
      ],
    });
    await feed.begin();
    // The bus sends only while another process listens: wait until the origin's subscriber
    // is there, or the window below would be announced to nobody.
    await originListening(redis.url);
    // A full playlist window (10 segments), as a stream that has been live a while has.
    for (let i = 0; i < 10 * PARTS_PER_SEGMENT + 3; i++) await feed.publish(TOP);
    const last = feed.next(TOP);
    for (let i = 0; ; i++) {
      const r = await fetch(`${base}/hls/${STREAM}/${TOP}.m3u8`);
      const text = await r.text();
      if (r.ok && text.includes(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${last.uri}"`)) break;
      if (i > 100)
        throw new Error(`the origin never showed the live playlist: ${r.status} ${text.slice(0, 200)}`);
      await sleep(50);
    }
    const rssIdle = rssMb(origin.pid);

    // 1. Held requests.
    const rounds: Round[] = [];
    let heldServerCores = NaN;
    let heldBusy = NaN;
    if (RUN_HELD) {
      clients = new ClientProcess();
      const u = new URL(base);
      const c = await clients.send({ cmd: 'connect', host: u.hostname, port: Number(u.port), n: HELD });
      if (c.connected !== HELD) throw new Error(`only ${c.connected} of ${HELD} connections opened`);
      await heldRound(origin, clients, feed); // warms the connections up, unmeasured
      await sleep(200);
      const m0 = machineCpu();
      const sc0 = ownCpuSeconds(origin.pid);
      const t0 = performance.now();
      for (let i = 0; i < ROUNDS; i++) {
        const r = await heldRound(origin, clients, feed);
        rounds.push(r);
        const sorted = r.latencies.filter(Number.isFinite).sort((a, b) => a - b);
        console.log(
          `  round ${i + 1}: held ${r.heldAtPublish} (all in ${f1(r.settleMs)} ms), answered ` +
            `${JSON.stringify(r.hold.statuses)}${r.hold.wrong ? ` (${r.hold.wrong} without the part)` : ''}` +
            `${r.hold.errors ? `, ${r.hold.errors} errors` : ''}; release p50 ${f1(quantile(sorted, 0.5))} ` +
            `p99 ${f1(quantile(sorted, 0.99))} last ${f1(sorted.at(-1) ?? NaN)} ms`,
        );
        await sleep(100);
      }
      const heldWall = (performance.now() - t0) / 1000;
      heldServerCores = (ownCpuSeconds(origin.pid) - sc0) / heldWall;
      heldBusy = busyPercent(m0, machineCpu());
      await clients.close();
      clients = null;
    }

    // 1b. The floor: bare TCP and bare node:http answering the same bytes to as many held requests.
    const floors: FloorResult[] = [];
    if (RUN_FLOOR) {
      const answer = await originAnswer(base, `/hls/${STREAM}/${TOP}.m3u8`);
      for (const mode of ['net', 'http'] as const) {
        const r = await floorRounds(mode, answer, '#EXT-X-PART-INF', Math.min(ROUNDS, 5));
        floors.push(r);
        console.log(
          `  floor ${mode === 'net' ? 'bare TCP     ' : 'bare node:http'}: answered ${r.answered}; release p50 ` +
            `${f1(quantile(r.latencies, 0.5))} p99 ${f1(quantile(r.latencies, 0.99))} last ` +
            `${f1(r.latencies.at(-1) ?? NaN)} ms; its loop took ${r.loopMs.map(f1).join(' ')} ms`,
        );
      }
    }

    // 2. Parts per second: ours vs nginx, the same files.
    const loads: Load[] = [];
    if (RUN_PARTS) {
      const paths = feed.listedParts(TOP).map((n) => `/hls/${STREAM}/${n}`);
      nginx = await NginxServer.start({
        root: path.join(dataDir, 'hls'),
        ...(TWO_CPUS ? { cpu: SERVER_CPU } : {}),
      });
      const check = await fetch(`${nginx.url}${paths[0]}`);
      const ours = await fetch(`${base}${paths[0]}`);
      const a = Buffer.from(await check.arrayBuffer());
      const b = Buffer.from(await ours.arrayBuffer());
      if (!check.ok || !ours.ok || !a.equals(b) || a.length !== PART_BYTES) {
        throw new Error(`origin and nginx do not serve the same part: ${ours.status} ${check.status}`);
      }
      clients = new ClientProcess();
      const originPid = origin.pid;
      const nginxPid = nginx.child.pid ?? -1;
      loads.push(await loadTest('whipcast origin', clients, base, paths, () => [originPid]));
      await sleep(500);
      loads.push(
        await loadTest('nginx', clients, nginx.url, paths, () => [nginxPid, ...childrenOf(nginxPid)]),
      );
      for (const l of loads) {
        console.log(
          `  ${l.name}: ${l.r.requests} parts in ${l.r.seconds.toFixed(1)} s (${l.r.non200} not 200, ` +
            `${l.r.errors} errors); server ${l.serverCores.toFixed(2)} cores, clients ` +
            `${l.clientCores.toFixed(2)} cores, machine ${l.machinePct.toFixed(0)}% busy`,
        );
      }
      await clients.close();
      clients = null;
      await nginx.close();
      nginx = null;
    }

    // Summary.
    console.log('\n== bench:origin summary ==');
    if (RUN_HELD) {
      const all = rounds.flatMap((r) => r.latencies.filter(Number.isFinite)).sort((x, y) => x - y);
      const answered = all.length;
      const other: Record<string, number> = {};
      for (const r of rounds) {
        for (const [k, v] of Object.entries(r.hold.statuses)) if (k !== '200') other[k] = (other[k] ?? 0) + v;
        if (r.hold.wrong) other['200 without the part'] = (other['200 without the part'] ?? 0) + r.hold.wrong;
        if (r.hold.errors) other['connection errors'] = (other['connection errors'] ?? 0) + r.hold.errors;
      }
      const lasts = rounds.map((r) => Math.max(...r.latencies.filter(Number.isFinite)));
      const settle = rounds.map((r) => r.settleMs).sort((x, y) => x - y);
      const rss = Math.max(...rounds.map((r) => r.rssMb));
      const p99 = quantile(all, 0.99);
      console.log(
        `held blocking requests: ${HELD} per round x ${ROUNDS} rounds; answered with the part ${answered}/${HELD * ROUNDS}` +
          (Object.keys(other).length
            ? `; other answers ${JSON.stringify(other)} (503: held past the blocking timeout before the publish)`
            : ''),
      );
      console.log(
        `  release (part published → answer received): p50 ${f1(quantile(all, 0.5))} ms, p95 ` +
          `${f1(quantile(all, 0.95))} ms, p99 ${f1(p99)} ms, max ${f1(all.at(-1) ?? NaN)} ms ` +
          `(target p99 <= ${TARGET.p99Ms} ms with ${TARGET.held} held: ${
            HELD >= TARGET.held && p99 <= TARGET.p99Ms && answered === HELD * ROUNDS ? 'met' : 'MISSED'
          })`,
      );
      console.log(`  last answer per round, ms: ${lasts.map(f1).join(' ')}`);
      console.log(
        `  time for the origin to take all ${HELD} requests (last written → all held): median ` +
          `${f1(quantile(settle, 0.5))} ms, max ${f1(settle.at(-1) ?? NaN)} ms`,
      );
      console.log(
        `  origin RSS ${f1(rssIdle)} MB idle, ${f1(rss)} MB with ${HELD} held; origin CPU ${heldServerCores.toFixed(
          2,
        )} cores; machine ${heldBusy.toFixed(0)}% busy`,
      );
    }
    if (RUN_FLOOR) {
      console.log(`the floor with ${HELD} held (same client, same response bytes, release → received):`);
      for (const r of floors) {
        console.log(
          `  ${r.mode === 'net' ? 'bare TCP (one write each)' : 'bare node:http (writeHead + end)'}: p50 ` +
            `${f1(quantile(r.latencies, 0.5))} ms, p99 ${f1(quantile(r.latencies, 0.99))} ms, max ` +
            `${f1(r.latencies.at(-1) ?? NaN)} ms over ${r.loopMs.length} rounds`,
        );
      }
    }
    if (RUN_PARTS) {
      const [o, n] = loads as [Load, Load];
      const clientBound = n.clientCores > 0.9;
      console.log(
        `parts served (${PART_BYTES} bytes, ${CONNECTIONS} keep-alive connections, ${LOAD_SECONDS} s each):`,
      );
      for (const l of loads) {
        console.log(
          `  ${l.name.padEnd(16)} ${l.rps.toFixed(0).padStart(6)} req/s ${l.mbps.toFixed(0).padStart(5)} MB/s ` +
            `(server ${l.serverCores.toFixed(2)} cores, machine ${l.machinePct.toFixed(0)}% busy)`,
        );
      }
      const perCore = (l: Load) => l.rps / Math.max(0.01, l.serverCores);
      console.log(
        `  ratio ours/nginx: ${(o.rps / n.rps).toFixed(2)} (req/s); per core of the server: ` +
          `${perCore(o).toFixed(0)} vs ${perCore(n).toFixed(0)} req/s per core, ${(perCore(o) / perCore(n)).toFixed(2)}` +
          `${clientBound ? ' (nginx figure bounded by the client process: it used a whole core)' : ''}`,
      );
    }
  } finally {
    await clients?.close().catch(() => undefined);
    await nginx?.close().catch(() => undefined);
    await bus?.close().catch(() => undefined);
    await origin?.close().catch(() => undefined);
    await redis?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

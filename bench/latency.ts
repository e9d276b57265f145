/**
 * bench/latency: live-edge latency of the whole live path, measured on the picture
 * itself. A WHIP publisher sends 1280x720p30 whose every frame shows its own number
 * (bench/lib/frame-number.ts) through the service (WHIP ingest → relay → live job's
 * ffmpeg ladder → LL-HLS packager → bus → blocking origin). For every rung an LL-HLS
 * client follows the media playlist with blocking reloads and, whenever an answer lists a
 * new part, takes that part. Afterwards (so that decoding takes no CPU from the pipeline
 * under test) the last frame of each such part is decoded and its number read:
 * latency = arrival of the playlist answer that listed the part − when that frame was
 * sent (its first RTP packet handed to the publisher's WebRTC track). The packager's bus
 * events split that in two: frame sent → part published, part published → answer.
 *
 * Then Chromium plays the stream on the player page (LL-HLS, hls.js) for a while, beside
 * one more follower of the top rung, and the bench reads hls.js's own latency figure
 * (`hls.latency`: live edge + playlist age − playhead) and the playhead's age by
 * PROGRAM-DATE-TIME (wall clock − the ingest time of the frame on screen).
 *
 *   npm run bench:latency -- [--seconds 25] [--warmup 3] [--preset low-latency]
 *       [--browser-seconds 15] [--settle 5] [--no-browser] [--player-early]
 *       [--same-priority] [--keep-logs]
 *
 * The service runs as its own process (as `npm start` runs it, with a private Redis);
 * the publisher, the followers and Chromium run beside it, at a lower CPU priority by
 * default (see --same-priority). Diagnostics: BENCH_TRACE=1 prints every measured part,
 * BENCH_PLAYER_TRACE=1 the player's events and samples, BENCH_HLS_DEBUG=1 hls.js's own
 * log, BENCH_LOG_LEVEL=debug the service's log (with --keep-logs).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { createLogger } from '../src/core/log.js';
import { packageRoot } from '../src/core/paths.js';
import { rungName } from '../src/core/preset.js';
import { FilePresetStore } from '../src/core/presets/store.js';
import { PrivateRedis } from '../src/core/redis-server.js';
import { RedisLiveBus } from '../src/packager/live/redis-bus.js';
import { launchChromium } from '../test/helpers/browser.js';
import { pidsMatching, type ServiceProcess } from '../test/helpers/service-process.js';
import { WhipTestClient, type SentRtp } from '../test/helpers/whip-client.js';
import { startBenchService } from './lib/bench-service.js';
import { machineCpu } from './lib/cpu.js';
import { frameNumberSource, lastFrameNumber } from './lib/frame-number.js';
import { LlhlsFollower } from './lib/llhls-follower.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '25' },
    warmup: { type: 'string', default: '3' },
    preset: { type: 'string', default: 'low-latency' },
    'browser-seconds': { type: 'string', default: '15' },
    settle: { type: 'string', default: '5' },
    'no-browser': { type: 'boolean', default: false },
    /** Open the player right after the POST (as test/e2e/live-browser does), beside the followers. */
    'player-early': { type: 'boolean', default: false },
    'keep-logs': { type: 'boolean', default: false },
    /**
     * The load generators stand for a camera and a viewer on other machines: by default
     * the publisher's ffmpeg runs at nice 10 and Chromium at SCHED_IDLE (Chromium, as
     * root, raises its own nice value), so they get what the service leaves of the CPU.
     * This flag runs them at the service's priority instead.
     */
    'same-priority': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const warmupMs = Number(values.warmup) * 1000;
const browserSeconds = Number(values['browser-seconds']);
const settleSeconds = Number(values.settle);
const lowPriority = !values['same-priority'];
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
const STREAM = 'bench';
/** Targets of the issue, on the 2-core machine with the low-latency preset. */
const TARGET = { p50: 300, p95: 500, firstPart: 2000, hlsJs: 1.2 };

const wallMs = (): number => performance.timeOrigin + performance.now();

/** CPU seconds a process has used so far (utime + stime), or null once it is gone. */
function processCpu(pid: number | 'self'): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

/** The parent of a process, or 0 once it is gone. */
function parentPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** Whether `pid` is `ancestor` or one of its descendants. */
function descends(pid: number, ancestor: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 32; hops++, p = parentPid(p)) if (p === ancestor) return true;
  return false;
}

/** Children of `pid` whose command line contains `needle` (the service's ffmpeg, the publisher's). */
function childPids(pid: number, needle: string): number[] {
  return pidsMatching(needle).filter((p) => parentPid(p) === pid);
}

/** When each frame of the numbered picture was sent, from the publisher's RTP packets. */
class SendClock {
  #firstTs: number | null = null;
  readonly #sent = new Map<number, number>();
  packets = 0;
  /** When the first video packet went out, epoch ms. */
  firstMs: number | null = null;

  onRtp = (p: SentRtp): void => {
    if (p.kind !== 'video') return;
    this.packets++;
    this.#firstTs ??= p.timestamp;
    this.firstMs ??= p.wallMs;
    if (!this.#sent.has(p.timestamp)) this.#sent.set(p.timestamp, p.wallMs);
  };

  /** Wall clock (epoch ms) when frame n went out, or null if it never did. */
  sentAt(n: number): number | null {
    if (this.#firstTs === null) return null;
    return this.#sent.get((this.#firstTs + (n * 90_000) / FPS) >>> 0) ?? null;
  }

  get frames(): number {
    return this.#sent.size;
  }
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Runs `fn` over `items`, `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

interface RungResult {
  rendition: string;
  samples: number;
  measured: number;
  undecodable: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  /** Medians of the two halves: frame sent → packager published the part → the follower had the answer. */
  toPublish: number;
  publishToAnswer: number;
}

/** When the packager published each part (the bus event's `at`), by `rendition|msn.part`. */
type Published = Map<string, number>;

async function measureRung(
  f: LlhlsFollower,
  clock: SendClock,
  published: Published,
  skipMs = warmupMs,
): Promise<RungResult> {
  const from = (f.firstPartMs ?? 0) + skipMs;
  const latencies: number[] = [];
  const toPublish: number[] = [];
  const publishToAnswer: number[] = [];
  let undecodable = 0;
  const wanted = f.samples.filter((s) => s.arrivalMs >= from);
  await pool(wanted, 2, async (s) => {
    const media = await f.decodable(s.msn, s.part);
    const n = media ? await lastFrameNumber(media) : null;
    const sent = n === null ? null : clock.sentAt(n);
    if (sent === null) {
      undecodable++;
      return;
    }
    latencies.push(s.arrivalMs - sent);
    const at = published.get(`${f.rendition}|${s.msn}.${s.part}`);
    if (at !== undefined) {
      toPublish.push(at - sent);
      publishToAnswer.push(s.arrivalMs - at);
    }
    if (process.env.BENCH_TRACE) {
      console.log(
        `${f.rendition} ${s.msn}.${s.part} frame ${n} latency ${(s.arrivalMs - sent).toFixed(1)} ms`,
      );
    }
  });
  return {
    rendition: f.rendition,
    samples: f.samples.length,
    measured: latencies.length,
    undecodable,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    min: Math.min(...latencies),
    max: Math.max(...latencies),
    toPublish: percentile(toPublish, 50),
    publishToAnswer: percentile(publishToAnswer, 50),
  };
}

interface PlayerSample {
  t: number;
  latency: number;
  targetLatency: number | null;
  pdtAge: number | null;
  rate: number;
  buffer: number;
  level: number;
  /** The playhead, the playlist's edge and the page's wall clock (s), for tracing. */
  currentTime: number;
  edge: number | null;
  pageNow: number;
}

/** What the page saw, recorded from the moment the player created its Hls instance. */
interface PlayerEvent {
  t: number;
  /** Date.now() in the page. */
  at: number;
  what: string;
  /** For a loaded part: `{rendition}|{msn}.{part}` as the packager names it. */
  part?: string;
}

/**
 * Runs in the page before its scripts: when the player stores its Hls instance on
 * `window.hls`, listeners go on at once, so the start-up (bit-rate test, start position,
 * first parts, seeks, stalls) is recorded too.
 */
function recordPlayerEvents(): void {
  const w = window as unknown as {
    __events: { t: number; at: number; what: string; part?: string }[];
    hls?: unknown;
  };
  w.__events = [];
  const t0 = performance.now();
  const log = (what: string, part?: string) =>
    w.__events.push({ t: (performance.now() - t0) / 1000, at: Date.now(), what, ...(part ? { part } : {}) });
  let current: unknown;
  let watching = false;
  Object.defineProperty(window, 'hls', {
    configurable: true,
    get: () => current,
    set: (h: {
      on(e: string, f: (e: string, d: Record<string, unknown>) => void): void;
      latency: number;
      levels: { height: number }[];
    }) => {
      current = h;
      log('hls created');
      h.on('hlsFragLoaded', (_e, d) => {
        const f = d.frag as { sn: number; level: number; start: number; duration: number; type: string };
        const p = d.part as { index: number; start: number } | null | undefined;
        const name = f.type === 'main' ? `${h.levels[f.level]?.height ?? '?'}p` : f.type;
        log(
          `frag loaded ${name} sn ${f.sn}${p ? `.${p.index} @${p.start.toFixed(2)}` : ` @${f.start.toFixed(2)}+${f.duration.toFixed(2)}`}`,
          p ? `${name}|${f.sn}.${p.index}` : undefined,
        );
      });
      h.on('hlsLevelSwitched', (_e, d) => log(`level switched to ${String(d.level)}`));
      const loaded = (kind: string) => (_e: string, d: Record<string, unknown>) => {
        const det = d.details as {
          edge: number;
          partList: unknown[] | null;
          lastPartSn: number;
          lastPartIndex: number;
        };
        const url = String((d.networkDetails as { responseURL?: string } | undefined)?.responseURL ?? '');
        log(
          `${kind} loaded ${url.slice(url.lastIndexOf('/') + 1)} last part ${det.lastPartSn}.${det.lastPartIndex} edge ${det.edge.toFixed(2)}`,
        );
      };
      h.on('hlsLevelLoaded', loaded('level'));
      h.on('hlsAudioTrackLoaded', loaded('audio track'));
      h.on('hlsError', (_e, d) => log(`error ${String(d.details)}${d.fatal ? ' (fatal)' : ''}`));
      if (watching) return;
      // The video element outlives Hls instances (the player makes a new one after a fatal error).
      watching = true;
      const v = document.querySelector('video')!;
      for (const ev of ['seeking', 'seeked', 'waiting', 'playing', 'ratechange']) {
        v.addEventListener(ev, () => {
          const lat = (current as { latency: number }).latency;
          log(`video ${ev} at ${v.currentTime.toFixed(2)} rate ${v.playbackRate} latency ${lat.toFixed(2)}`);
        });
      }
    },
  });
}

/** Chromium on the player page: hls.js's own latency, sampled every 250 ms once it plays. */
async function measurePlayer(
  base: string,
  onCpu: (seconds: number) => void = () => undefined,
): Promise<{ samples: PlayerSample[]; startMs: number; events: PlayerEvent[] }> {
  let browser: Browser | null = null;
  // Chromium's processes (browser, renderer, GPU, utility: descendants of this process) and
  // what each has used, sampled while they live; all of it is this phase's.
  const used = new Map<number, number>();
  const sample = () => {
    for (const pid of pidsMatching('chromium')) {
      if (!descends(pid, process.pid)) continue;
      const c = processCpu(pid);
      if (c !== null) used.set(pid, c);
    }
  };
  const sampler = setInterval(sample, 200);
  try {
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.addInitScript(recordPlayerEvents);
    if (process.env.BENCH_HLS_DEBUG) {
      // hls.js's own log, for diagnosis: the player's live config gains `debug: true`.
      await page.route('**/player/main.js', async (route) => {
        const res = await route.fetch();
        const body = (await res.text()).replace(
          'lowLatencyMode: true,',
          'lowLatencyMode: true, debug: true,',
        );
        await route.fulfill({ response: res, body });
      });
      const c0 = wallMs();
      page.on('console', (m) =>
        console.log(`  [page ${((wallMs() - c0) / 1000).toFixed(3)}] ${m.text().slice(0, 300)}`),
      );
    }
    const opened = wallMs();
    await page.goto(`${base}/?stream=${STREAM}&protocol=llhls`);
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0, undefined, {
      timeout: 30_000,
    });
    const startMs = wallMs() - opened;
    const samples: PlayerSample[] = [];
    const t0 = wallMs();
    while (wallMs() - t0 < browserSeconds * 1000) {
      const s = await page.evaluate(() => {
        const w = window as unknown as {
          hls?: {
            latency: number;
            targetLatency: number | null;
            playingDate: Date | null;
            currentLevel: number;
            latestLevelDetails: { edge: number } | null;
          };
        };
        const v = document.querySelector('video')!;
        const h = w.hls;
        const b = v.buffered;
        return {
          latency: h ? h.latency : Number.parseFloat(document.getElementById('latency')?.textContent ?? ''),
          targetLatency: h ? h.targetLatency : null,
          pdtAge: h?.playingDate ? (Date.now() - h.playingDate.getTime()) / 1000 : null,
          rate: v.playbackRate,
          buffer: b.length ? b.end(b.length - 1) - v.currentTime : 0,
          level: h ? h.currentLevel : -1,
          currentTime: v.currentTime,
          edge: h?.latestLevelDetails?.edge ?? null,
          pageNow: Date.now() / 1000,
        };
      });
      samples.push({ t: (wallMs() - t0) / 1000, ...s });
      await new Promise((r) => setTimeout(r, 250));
    }
    const events = await page.evaluate(() => (window as unknown as { __events: PlayerEvent[] }).__events);
    sample();
    return { samples, startMs, events };
  } finally {
    clearInterval(sampler);
    onCpu([...used.values()].reduce((a, b) => a + b, 0));
    await browser?.close();
  }
}

const fmt = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms)}` : '–');
const ok = (pass: boolean): string => (pass ? 'ok' : 'ABOVE');

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-'));
  const store = new FilePresetStore({
    builtInDir: path.join(packageRoot(), 'presets'),
    dataDir: path.join(dir, 'data'),
    log: createLogger('silent'),
  });
  const preset = (await store.get(values.preset)).preset;
  const rungs = preset.ladder.map((r) => rungName(r));
  console.log(
    `publishing ${seconds} s of a numbered ${WIDTH}x${HEIGHT}p${FPS} picture + Opus over WHIP; preset ${values.preset} ` +
      `(${rungs.join(', ')}; ${preset.partSeconds} s parts, ${preset.segmentSeconds} s segments); ` +
      `${os.cpus().length} CPUs; warm-up ${warmupMs / 1000} s left out; ${lowPriority ? 'publisher at nice 10, Chromium at SCHED_IDLE' : "publisher and Chromium at the service's priority"}`,
  );

  let redis: PrivateRedis | null = null;
  let service: ServiceProcess | null = null;
  let client: WhipTestClient | null = null;
  let bus: RedisLiveBus | null = null;
  const published: Published = new Map();
  const followers = rungs.map((r) => ({ r, f: null as LlhlsFollower | null }));
  let during: LlhlsFollower | null = null;
  const clock = new SendClock();
  // Wrappers that start the load generators at a low priority (exec all the way: the pid stays).
  const wrap = (name: string, how: string, bin: string): string => {
    if (!lowPriority) return bin;
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\nexec ${how} ${JSON.stringify(bin)} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  const publisherFfmpeg = wrap('ffmpeg-publisher', 'nice -n 10', process.env.FFMPEG_PATH ?? 'ffmpeg');
  process.env.CHROMIUM_PATH = wrap(
    'chromium',
    'chrt --idle 0',
    process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  );
  try {
    redis = await PrivateRedis.start();
    service = await startBenchService(dir, redis.url);
    // The packager's announcements, as an origin hears them: when each part was published.
    bus = new RedisLiveBus({ url: redis.url, prefix: 'bench' });
    bus.subscribe((e) => {
      if (e.part) published.set(`${e.rendition}|${e.part.msn}.${e.part.part}`, e.at);
    });
    await bus.ready();
    const base = service.url;
    const hls = `${base}/hls/${STREAM}`;
    for (const x of followers) {
      x.f = new LlhlsFollower(hls, x.r);
      x.f.start();
    }
    client = await WhipTestClient.publish({
      url: `${base}/whip/${STREAM}?preset=${encodeURIComponent(values.preset)}`,
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      videoSource: frameNumberSource({ width: WIDTH, height: HEIGHT, fps: FPS }),
      onRtp: clock.onRtp,
      // The publisher stands for a camera on another machine: keep its share of this one small.
      x264Preset: 'ultrafast',
      ffmpegPath: publisherFfmpeg,
    });
    const posted = client.postedAtMs;
    const answered = posted + client.postMs;
    const early = !values['no-browser'] && values['player-early'] ? measurePlayer(base) : null;
    // Who uses the CPU (once the live job's ffmpeg runs): that ffmpeg, the service's node,
    // the publisher's ffmpeg, and this process (the publisher's WebRTC side, the followers).
    const top = followers[0]!.f!;
    for (let i = 0; i < 300 && top.firstPartMs === null; i++) await new Promise((r) => setTimeout(r, 50));
    const cpu0 = machineCpu();
    const t0 = wallMs();
    const who = {
      transcoder: childPids(service.pid, 'matroska')[0] ?? -1,
      service: service.pid,
      publisher: childPids(process.pid, 'lavfi')[0] ?? -1,
    };
    const cpuOf = () => ({
      transcoder: processCpu(who.transcoder),
      service: processCpu(who.service),
      publisher: processCpu(who.publisher),
      bench: processCpu('self'),
    });
    const procs0 = cpuOf();
    await new Promise((r) => setTimeout(r, Math.max(0, posted + seconds * 1000 - wallMs())));
    await Promise.all(followers.map((x) => x.f!.stop()));
    const cpu1 = machineCpu();
    const procs1 = cpuOf();
    const span = (wallMs() - t0) / 1000;
    const busy = (100 * (cpu1.busy - cpu0.busy)) / (cpu1.total - cpu0.total);

    // While Chromium plays, the top rung is followed too: does the pipeline keep up beside it?
    let player: Awaited<ReturnType<typeof measurePlayer>> | null = null;
    let playerBusy = NaN;
    let playerCpu = '';
    let chromiumCpu = 0;
    if (early) player = await early;
    else if (!values['no-browser']) {
      during = new LlhlsFollower(hls, rungs[0]!);
      during.start();
      const c0 = machineCpu();
      const t1 = wallMs();
      const p0 = cpuOf();
      player = await measurePlayer(base, (seconds) => (chromiumCpu = seconds));
      const p1 = cpuOf();
      const c1 = machineCpu();
      playerBusy = (100 * (c1.busy - c0.busy)) / (c1.total - c0.total);
      const secs = (wallMs() - t1) / 1000;
      const used = (a: number | null, b: number | null) =>
        a === null || b === null ? '–' : `${Math.round((100 * (b - a)) / secs)}%`;
      playerCpu =
        `live job's ffmpeg ${used(p0.transcoder, p1.transcoder)}, service node ${used(p0.service, p1.service)}, ` +
        `publisher's ffmpeg ${used(p0.publisher, p1.publisher)}, this process ${used(p0.bench, p1.bench)}, ` +
        `Chromium ${Math.round((100 * chromiumCpu) / secs)}%`;
      await during.stop();
    }

    await client.close();
    client = null;
    await service.close();
    if (values['keep-logs']) console.log(service.output.join(''));
    service = null;

    // Decoding happens now, with the pipeline stopped.
    const firstPartMs = top.firstPartMs === null ? NaN : top.firstPartMs - posted;
    const results: RungResult[] = [];
    for (const x of followers) results.push(await measureRung(x.f!, clock, published));
    if (during)
      results.push({ ...(await measureRung(during, clock, published, 0)), rendition: `${rungs[0]}*` });

    const pct = (x: number) => `${Math.round(x)}%`;
    const share = (k: keyof typeof procs0) => {
      const a = procs0[k];
      const b = procs1[k];
      return a === null || b === null ? '–' : pct((100 * (b - a)) / span);
    };
    const row = (cells: string[], widths: number[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    const widths = [6, 6, 5, 5, 5, 5, 15, 18, 14];

    console.log('');
    console.log(
      `live-edge latency (ms): arrival of the playlist answer that lists a part − send time of that part's last frame` +
        ` (first ${warmupMs / 1000} s left out)`,
    );
    console.log(
      row(
        [
          'rung',
          'parts',
          'p50',
          'p95',
          'min',
          'max',
          'sent→published',
          'published→answer',
          'p50≤300 p95≤500',
        ],
        widths,
      ),
    );
    for (const r of results) {
      console.log(
        row(
          [
            r.rendition,
            String(r.measured),
            fmt(r.p50),
            fmt(r.p95),
            fmt(r.min),
            fmt(r.max),
            fmt(r.toPublish),
            fmt(r.publishToAnswer),
            ok(r.p50 <= TARGET.p50 && r.p95 <= TARGET.p95),
          ],
          widths,
        ) + (r.undecodable ? `  (${r.undecodable} undecodable)` : ''),
      );
    }
    if (during)
      console.log(`${rungs[0]}* = ${rungs[0]} again while Chromium plays the stream (not a target)`);

    const rel = (t: number | null) => (t === null ? '–' : `${Math.round(t - posted)}`);
    console.log('');
    console.log(
      `first playable part: ${fmt(firstPartMs)} ms after the POST (first ${rungs[0]} part listed)   ` +
        `target ≤ ${TARGET.firstPart}: ${ok(firstPartMs <= TARGET.firstPart)}`,
    );
    console.log(
      `  201 answer ${rel(answered)}, first frame sent ${rel(clock.firstMs)}, at ingest (PROGRAM-DATE-TIME) ` +
        `${rel(top.firstPdtMs)}, first part listed ${rel(top.firstPartMs)}`,
    );

    if (player) {
      const settled = player.samples.filter((s) => s.t >= settleSeconds && s.latency > 0);
      const med = (xs: number[]) => percentile(xs, 50);
      const lat = med(settled.map((s) => s.latency));
      const atStart = player.events
        .map((e) => /^video playing .* latency ([\d.]+)$/.exec(e.what)?.[1])
        .find((x) => x !== undefined);
      const pdt = settled.map((s) => s.pdtAge).filter((x): x is number => x !== null);
      // hls.js's stall detection (the playhead stopped with playback wanted), not the start-up wait.
      const stalls = player.events.filter((e) => e.what.startsWith('error bufferStalledError')).length;
      const seeks = player.events.filter((e) => e.what.startsWith('video seeking')).length;
      // How long after the packager published a part hls.js had it loaded.
      const loadDelay = player.events
        .filter((e) => e.part && published.has(e.part))
        .map((e) => e.at - published.get(e.part!)!);
      console.log('');
      console.log(
        `hls.js latency in Chromium: median ${lat.toFixed(2)} s from ${settleSeconds} to ${browserSeconds} s of playback ` +
          `(${settled.length} samples, max ${Math.max(...settled.map((s) => s.latency)).toFixed(2)} s)   ` +
          `target ≤ ${TARGET.hlsJs}: ${ok(lat <= TARGET.hlsJs)}`,
      );
      console.log(
        `  at the start ${atStart ?? '–'} s (playing ${fmt(player.startMs)} ms after the page opened); target latency ` +
          `${settled[0]?.targetLatency?.toFixed(2) ?? '–'} s; wall clock − PROGRAM-DATE-TIME of the playhead ` +
          `${med(pdt).toFixed(2)} s; forward buffer ${med(settled.map((s) => s.buffer)).toFixed(2)} s`,
      );
      console.log(
        `  stalls ${stalls}, seeks ${seeks}, playback rates ${[...new Set(player.samples.map((s) => s.rate))].join(' ')}; ` +
          `parts loaded ${fmt(percentile(loadDelay, 50))} ms after the packager published them (p50; p95 ${fmt(percentile(loadDelay, 95))})`,
      );
      if (process.env.BENCH_PLAYER_TRACE) {
        for (const e of player.events) console.log(`  ${e.t.toFixed(3)} ${e.what}`);
        for (const x of player.samples) console.log(JSON.stringify(x));
      }
    }

    const gets = followers.flatMap((x) => x.f!.getMs);
    console.log('');
    console.log(
      `conditions: ${lowPriority ? 'publisher at nice 10, Chromium at SCHED_IDLE' : "publisher and Chromium at the service's priority"}; ` +
        `load average ${os
          .loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')}`,
    );
    console.log(
      `  publishing: machine ${pct(busy)} busy of ${os.cpus().length} cores; % of one core: live job's ffmpeg ${share('transcoder')}, ` +
        `service node ${share('service')}, publisher's ffmpeg ${share('publisher')}, this process ${share('bench')}`,
    );
    if (during) console.log(`  while Chromium played: machine ${pct(playerBusy)} busy; ${playerCpu}`);
    console.log(
      `  ${clock.frames} frames sent; blocking reloads ${followers.map((x) => `${x.r} ${x.f!.reloads}`).join(', ')}; ` +
        `part GETs p50 ${percentile(gets, 50).toFixed(1)} ms, p95 ${percentile(gets, 95).toFixed(1)} ms`,
    );
  } finally {
    await Promise.allSettled([...followers.map((x) => x.f?.stop()), during?.stop()]);
    await client?.close().catch(() => undefined);
    await bus?.close();
    await service?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

/**
 * bench/whep-latency: glass-to-glass delay of WHEP on loopback, measured on the picture.
 * A WHIP publisher sends a picture that carries its own frame number
 * (bench/lib/frame-number.ts); a werift WHEP viewer (test/helpers/whep-client.ts) plays
 * the stream and assembles each H.264 access unit from its RTP (werift's depacketizer,
 * as src/ingest/rtp/depacketize.ts uses it). Afterwards (so that decoding takes no CPU
 * from the path under test) every access unit goes, in order, through one ffmpeg that
 * shrinks each picture to one 20-sample row; the row gives the frame number:
 *
 *   glass-to-glass = when the frame was complete at the viewer (its marker packet arrived)
 *                    − when that frame was sent (its first RTP packet handed to the
 *                      publisher's WebRTC track).
 *
 * Encoding before the publisher's track (ffmpeg) and decoding/rendering after the viewer's
 * depacketizer are not part of the figure: it is the WebRTC path, server included.
 *
 *   npm run bench:whep-latency -- [--seconds 20] [--warmup 2] [--all-roles]
 *                                  [--mode passthrough|rung] [--gop FRAMES] [--joins N]
 *
 * --mode rung: the viewer gets the top rung of the low-latency preset's ladder (the
 * worker's x264 encode, the packager's parts, RTP made from them; all roles run); target
 * p50 <= 600 ms. --gop: the publisher's key frame interval (240: OBS's "auto", 8 s at
 * 30 fps; it makes none on request). --joins N: first N viewers join one after another
 * (a random 0-2 s apart) and each one's first frame after its POST is printed: the join
 * time, on a rung (rung mode, or fast join in passthrough) between the publisher's key frames.
 *
 * The service runs as its own process with a private Redis; by default with roles
 * api + ingest only (no worker, so no live ladder transcode competes for the CPU);
 * --all-roles runs the ladder too, as `npm start` does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RtpPacket } from 'werift';
import { PrivateRedis } from '../src/core/redis-server.js';
import type { ServiceProcess } from '../test/helpers/service-process.js';
import { WhepTestClient } from '../test/helpers/whep-client.js';
import { WhipTestClient, type SentRtp } from '../test/helpers/whip-client.js';
import { BARS, decodeBars, frameNumberSource } from './lib/frame-number.js';
import { startBenchService, waitForLadder } from './lib/bench-service.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '2' },
    'all-roles': { type: 'boolean', default: false },
    mode: { type: 'string', default: 'passthrough' },
    gop: { type: 'string', default: '30' },
    joins: { type: 'string', default: '0' },
  },
});
const seconds = Number(values.seconds);
const warmupMs = Number(values.warmup) * 1000;
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
const TICKS_PER_FRAME = 90_000 / FPS;
const STREAM = 'g2g';
const mode = values.mode === 'rung' ? 'rung' : 'passthrough';
const allRoles = values['all-roles'] || mode === 'rung' || Number(values.joins) > 0;
const TARGET_P50 = mode === 'rung' ? 600 : 60;
const ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg';

const wallMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** When each frame of the numbered picture was sent, from the publisher's RTP packets. */
class SendClock {
  #firstTs: number | null = null;
  readonly #sent = new Map<number, number>();

  onRtp = (p: SentRtp): void => {
    if (p.kind !== 'video') return;
    this.#firstTs ??= p.timestamp;
    if (!this.#sent.has(p.timestamp)) this.#sent.set(p.timestamp, p.wallMs);
  };

  /** Wall clock (epoch ms) when frame n went out, or null if it never did. */
  sentAt(n: number): number | null {
    if (this.#firstTs === null) return null;
    return this.#sent.get((this.#firstTs + n * TICKS_PER_FRAME) >>> 0) ?? null;
  }

  get frames(): number {
    return this.#sent.size;
  }
}

/** Decodes Annex-B access units in order with one ffmpeg; one BARS-sample row per picture out. */
function decodeRows(units: Buffer[]): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const ff = spawn(
      ffmpegPath,
      [
        ...['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0'],
        // One output picture per decoded picture (no frame-rate conversion), each bar averaged to one sample.
        ...['-fps_mode', 'passthrough', '-vf', `scale=${BARS}:1:flags=area`],
        ...['-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'],
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const chunks: Buffer[] = [];
    let stderr = '';
    ff.stdout.on('data', (c: Buffer) => chunks.push(c));
    ff.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    ff.stdin.on('error', () => undefined);
    ff.on('error', reject);
    ff.on('close', (code) => {
      if (code !== 0 && chunks.length === 0)
        return reject(new Error(`ffmpeg exited with ${code}: ${stderr}`));
      const all = Buffer.concat(chunks);
      const rows: Uint8Array[] = [];
      for (let o = 0; o + BARS <= all.length; o += BARS) rows.push(all.subarray(o, o + BARS));
      resolve(rows);
    });
    for (const u of units) ff.stdin.write(u);
    ff.stdin.end();
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-'));
  let redis: PrivateRedis | null = null;
  let service: ServiceProcess | null = null;
  let publisher: WhipTestClient | null = null;
  let viewer: WhepTestClient | null = null;
  const clock = new SendClock();
  /** Viewer side: when the marker packet of each RTP timestamp arrived (epoch ms, fractional). */
  const completeAt = new Map<number, number>();
  const onViewerRtp = (kind: 'video' | 'audio', rtp: RtpPacket): void => {
    if (kind === 'video' && rtp.header.marker && !completeAt.has(rtp.header.timestamp)) {
      completeAt.set(rtp.header.timestamp, wallMs());
    }
  };
  console.log(
    `publishing ${seconds} s of a numbered ${WIDTH}x${HEIGHT}p${FPS} picture + Opus over WHIP, one werift WHEP viewer; ` +
      `roles ${allRoles ? 'all (live ladder running)' : 'api,ingest (no ladder)'}; ${os.cpus().length} CPUs, ` +
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}; warm-up ${warmupMs / 1000} s left out`,
  );
  let frames: WhepTestClient['frames'];
  try {
    redis = await PrivateRedis.start();
    service = await startBenchService(dir, redis.url, allRoles ? {} : { ROLES: 'api,ingest' });
    const base = service.url;
    publisher = await WhipTestClient.publish({
      url: `${base}/whip/${STREAM}${allRoles ? '?preset=low-latency' : ''}`,
      gop: Number(values.gop),
      width: WIDTH,
      height: HEIGHT,
      fps: FPS,
      videoSource: frameNumberSource({ width: WIDTH, height: HEIGHT, fps: FPS }),
      onRtp: clock.onRtp,
    });
    if (allRoles) {
      // The ladder first: rung mode and fast join need its parts.
      await waitForLadder(base, STREAM);
    }
    const joins: number[] = [];
    for (let j = 0; j < Number(values.joins); j++) {
      await sleep(Math.random() * 2000);
      const v = await WhepTestClient.create({ url: `${base}/whep/${STREAM}`, mode });
      try {
        await v.play();
        for (let i = 0; v.frames.length === 0 && i < 200; i++) await sleep(10);
        if (v.frames[0]) joins.push(v.frames[0].atMs - v.postedAtMs);
        await v.delete().catch(() => null);
      } finally {
        await v.close();
      }
    }
    if (joins.length > 0) {
      console.log(
        `join (POST → first frame, ${mode}, publisher GOP ${Number(values.gop) / FPS} s): ` +
          `p50 ${percentile(joins, 50)} ms, max ${Math.max(...joins)} ms over ${joins.length} viewers (target <= 1500)`,
      );
    }
    // WHEP answers 409 until the first media is in.
    for (let i = 0; ; i++) {
      viewer = await WhepTestClient.create({ url: `${base}/whep/${STREAM}`, onRtp: onViewerRtp, mode });
      try {
        await viewer.play();
        break;
      } catch (e) {
        await viewer.close();
        viewer = null;
        if (i >= 50) throw e;
        await sleep(200);
      }
    }
    await sleep(seconds * 1000);
    frames = [...viewer.frames];
    await viewer.close();
    viewer = null;
    await publisher.close();
    publisher = null;
    await service.close();
    service = null;
  } finally {
    await viewer?.close();
    await publisher?.close().catch(() => undefined);
    await service?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // Decoding happens now, with the path under test stopped.
  const rows = await decodeRows(frames.map((f) => f.data));
  const pairs = Math.min(rows.length, frames.length);
  // Rows match frames in order; check that by the RTP clock: decoded number − frame index
  // by timestamp is the same for every frame when nothing is out of step.
  const ts0 = frames[0]?.rtpTimestamp ?? 0;
  const offsets = new Map<number, number>();
  const numbers: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const n = decodeBars(rows[i]!);
    numbers.push(n);
    const k = Math.round(((frames[i]!.rtpTimestamp - ts0) >>> 0) / TICKS_PER_FRAME);
    offsets.set(n - k, (offsets.get(n - k) ?? 0) + 1);
  }
  const offset = [...offsets.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  const firstComplete = completeAt.get(ts0) ?? 0;
  const latencies: number[] = [];
  let outOfStep = 0;
  let unsent = 0;
  for (let i = 0; i < pairs; i++) {
    const f = frames[i]!;
    const k = Math.round(((f.rtpTimestamp - ts0) >>> 0) / TICKS_PER_FRAME);
    if (numbers[i]! - k !== offset) {
      outOfStep++;
      continue;
    }
    const done = completeAt.get(f.rtpTimestamp) ?? f.atMs;
    if (done - firstComplete < warmupMs) continue;
    const sent = clock.sentAt(numbers[i]!);
    if (sent === null) {
      unsent++;
      continue;
    }
    latencies.push(done - sent);
  }

  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
  const p50 = percentile(latencies, 50);
  console.log('');
  console.log(
    `WHEP glass-to-glass on loopback (${os.cpus().length} CPUs shared with publisher, viewer and whatever else runs)`,
  );
  console.log(
    `frames sent  frames received  decoded  measured     p50     p95     min     max   target p50<=${TARGET_P50} (${mode})`,
  );
  console.log(
    `${String(clock.frames).padStart(11)}  ${String(frames.length).padStart(15)}  ${String(rows.length).padStart(7)}` +
      `  ${String(latencies.length).padStart(8)}  ${fmt(p50).padStart(6)}  ${fmt(percentile(latencies, 95)).padStart(6)}` +
      `  ${fmt(Math.min(...latencies)).padStart(6)}  ${fmt(Math.max(...latencies)).padStart(6)}` +
      `   ${p50 <= TARGET_P50 ? 'ok' : 'ABOVE TARGET'}`,
  );
  console.log(
    `(ms; ${outOfStep} decoded rows out of step with the RTP clock and ${unsent} frames without a send time left out; ` +
      `first decoded frame number ${numbers[0] ?? '–'}; load average at the end ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')})`,
  );
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

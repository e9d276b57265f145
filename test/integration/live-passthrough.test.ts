import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Capabilities } from '../../src/core/capabilities.js';
import type { JobView } from '../../src/core/jobs.js';
import { createLogger } from '../../src/core/log.js';
import type { MediaFrame } from '../../src/core/media.js';
import { parsePreset, rungName } from '../../src/core/preset.js';
import { apiRedis, closeRedis } from '../../src/core/redis.js';
import { StreamViews } from '../../src/live/views.js';
import { createLivePackagerFactory, LocalLiveBus } from '../../src/packager/index.js';
import { LocalStorage } from '../../src/packager/storage/local.js';
import { JobsClient } from '../../src/workers/jobs-client.js';
import { QUEUE_NAMES } from '../../src/workers/queues.js';
import { WorkerRole } from '../../src/workers/worker-role.js';
import { FakeFrameSource, FakeFrameSources } from '../helpers/fake-frame-source.js';
import { makeFrames, type Frames } from '../helpers/media-frames.js';
import { childPids } from '../helpers/recording-packager.js';
import { startRelayApp } from '../helpers/relay-app.js';
import { waitFor } from '../helpers/service-process.js';

const run = promisify(execFile);
const TOKEN = 'live-passthrough-test-token-0123';
const OPUS = { codec: 'opus' as const, sampleRate: 48000 as const, channels: 2 as const };
/** Passthrough, with a one-rung ladder (x264 ultrafast) to fall back on. */
const PRESET = parsePreset({
  id: 'pass-test',
  name: 'Passthrough test',
  ladder: [{ width: 320, height: 180, fps: 30, videoBitrateKbps: 300, profile: 'main' }],
  audio: { codec: 'aac', bitrateKbps: 64, channels: 2, sampleRate: 48000 },
  gopSeconds: 1,
  segmentSeconds: 2,
  partSeconds: 0.5,
  encoders: { x264: { preset: 'ultrafast' } },
  hardware: { policy: 'never' },
  passthrough: true,
});
const CAPABILITIES: Capabilities = {
  ffmpegPath: 'ffmpeg',
  ffmpegVersion: null,
  encoders: ['libx264', 'aac'],
  hwaccels: [],
  filters: [],
  families: ['x264'],
  rejected: {},
  probedAt: new Date(0).toISOString(),
};

type Layered = MediaFrame & { rid?: string };

/** Both layers' frames and the audio, in time order (larger layer first on ties), as ingest hands them on. */
function layered(layers: { rid: string; frames: Frames }[], audio: MediaFrame[]): Layered[] {
  const all: Layered[] = [
    ...layers.flatMap((l) => l.frames.video.map((f) => ({ ...f, rid: l.rid }))),
    ...audio,
  ];
  return all.sort((a, b) => a.timeUs - b.timeUs || (a.kind === 'video' ? -1 : 1));
}

/** utime + stime of a process, in clock ticks (100 per second here). */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

interface Segment {
  msn: number;
  duration: number;
  uri: string;
}

/** The complete segments a media playlist lists. */
function segments(text: string): Segment[] {
  const out: Segment[] = [];
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? '0');
  let duration: number | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXTINF:')) duration = Number(line.slice(8).split(',')[0]);
    else if (duration !== null && line !== '' && !line.startsWith('#')) {
      out.push({ msn: msn++, duration, uri: line });
      duration = null;
    }
  }
  return out;
}

describe('passthrough preset: simulcast layers as the renditions, no video encode', () => {
  let dir: string;
  let hls: string;
  const sources = new FakeFrameSources();
  let relayApp: Awaited<ReturnType<typeof startRelayApp>>;
  let worker: WorkerRole;
  let jobs: JobsClient;
  let connection: Redis;
  let storage: LocalStorage;
  let views: StreamViews;
  const prefix = `t${process.pid}pass${Date.now().toString(36)}`;
  let hi: Frames;
  let lo: Frames;
  let loOffGop: Frames;
  const cpu: Record<string, { ticks: number; seconds: number }> = {};
  const firstPart = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-passthrough-'));
    hls = path.join(dir, 'hls');
    // Two layers of the same frames with the same GOP (as OBS encodes them), and a low
    // layer whose GOP is 1.5 s instead of 1 s (key frames at other instants).
    [hi, lo, loOffGop] = await Promise.all([
      makeFrames(dir, { video: 'h264', seconds: 4, width: 640, height: 360, gop: 30, audio: true }),
      makeFrames(dir, { video: 'h264', seconds: 4, width: 320, height: 180, gop: 30 }),
      makeFrames(dir, { video: 'h264', seconds: 4, width: 320, height: 180, gop: 45 }),
    ]);
    relayApp = await startRelayApp(sources);
    const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    storage = new LocalStorage(hls);
    const bus = new LocalLiveBus();
    bus.subscribe((e) => {
      const key = `${e.streamId}/${e.rendition}`;
      if (e.part && !firstPart.has(key)) firstPart.set(key, e.at);
    });
    worker = new WorkerRole({
      redisUrl: process.env.REDIS_URL ?? '',
      prefix,
      ffmpegPath: 'ffmpeg',
      hwaccel: 'none',
      capabilities: CAPABILITIES,
      storage,
      concurrency: 2,
      log,
      livePackagers: createLivePackagerFactory({ storage, bus }),
      liveTiming: { endGraceMs: 300, relayIdleMs: 15_000 },
    });
    connection = apiRedis(process.env.REDIS_URL ?? '', 'passthrough-test');
    jobs = new JobsClient({
      connection,
      prefix,
      publicUrl: () => 'http://127.0.0.1:1',
      defaultPresetId: PRESET.id,
      resolvePreset: () => Promise.resolve(PRESET),
    });
    views = new StreamViews({ streams: sources.streams, whep: null, jobs, presets: null, rungName });
  }, 90_000);

  afterAll(async () => {
    sources.closeAll();
    await worker?.close();
    const q = new Queue(QUEUE_NAMES.live, { connection, prefix });
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
    await jobs?.close();
    await closeRedis(connection);
    await storage?.close();
    await relayApp?.close();
    expect(childPids('pipe:0')).toEqual([]);
    console.log(`ffmpeg CPU (ticks of 10 ms over wall seconds): ${JSON.stringify(cpu)}`);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Publishes a fake session playing `frames` in a loop and queues its live job; returns when it was published. */
  async function publish(
    streamId: string,
    frames: Layered[],
    layers: { rid: string }[] | null,
  ): Promise<{ source: FakeFrameSource; at: number }> {
    const source = new FakeFrameSource({
      streamId,
      video: {
        codec: 'h264',
        width: null,
        height: null,
        ...(layers
          ? { layers: layers.map((l) => ({ rid: l.rid, width: null, height: null })), layer: layers[0]!.rid }
          : {}),
      },
      audio: OPUS,
    });
    if (layers) source.topLayer = layers[0]!.rid;
    sources.publish(source);
    relayApp.relay.authorize(streamId, TOKEN);
    const at = Date.now();
    source.play(frames, { loop: true });
    await jobs.enqueueLive({
      kind: 'live',
      streamId,
      presetId: PRESET.id,
      preset: PRESET,
      relay: { url: relayApp.url(streamId), token: TOKEN },
      submittedAt: new Date().toISOString(),
    });
    return { source, at };
  }

  /** Waits until the previous stream's ffmpeg is gone, so the next one found is this stream's. */
  const noFfmpeg = () => waitFor('no ffmpeg left', async () => childPids('pipe:0').length === 0, 20_000, 100);

  /** The stream's ffmpeg (the one whose output is its packager's): its pid and arguments. */
  async function ffmpegOf(count: number): Promise<{ pid: number; args: string[] }[]> {
    return waitFor(
      `${count} ffmpeg running`,
      async () => {
        const pids = childPids('pipe:0');
        return pids.length >= count ? pids.map((pid) => ({ pid, args: cmdline(pid) })) : null;
      },
      30_000,
      100,
    );
  }

  const read = (streamId: string, name: string): string | null => {
    try {
      return readFileSync(path.join(hls, streamId, name), 'utf8');
    } catch {
      return null;
    }
  };

  async function playlistWith(streamId: string, name: string, n: number): Promise<Segment[]> {
    return waitFor(
      `${streamId}/${name} with ${n} segments`,
      async () => {
        const text = read(streamId, name);
        const segs = text ? segments(text) : [];
        return segs.length >= n ? segs : null;
      },
      30_000,
      200,
    );
  }

  /** ffprobe of a rendition's init segment and first complete segment: codec, size and decoded frames. */
  async function probe(streamId: string, rendition: string, seg: Segment): Promise<Record<string, unknown>> {
    const text = read(streamId, `${rendition}.m3u8`) ?? '';
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1] ?? '';
    const file = path.join(dir, `${streamId}-${rendition}.mp4`);
    writeFileSync(
      file,
      Buffer.concat([
        readFileSync(path.join(hls, streamId, init)),
        readFileSync(path.join(hls, streamId, seg.uri)),
      ]),
    );
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file],
    ]);
    return (JSON.parse(stdout) as { streams: Record<string, unknown>[] }).streams[0] ?? {};
  }

  async function streamView(id: string) {
    const v = views.get(id);
    if (!v) throw new Error(`no view of ${id}`);
    return views.withJob(v);
  }

  it('aligned layers: one rendition per layer, copied (-c:v copy), segments on the same times, each decodes', async () => {
    const frames = layered(
      [
        { rid: 'h', frames: hi },
        { rid: 'l', frames: lo },
      ],
      hi.audio,
    );
    const { at } = await publish('pass', frames, [{ rid: 'h' }, { rid: 'l' }]);
    const [ff] = await ffmpegOf(1);
    expect(ff!.args.filter((a, i) => a === 'copy' && ff!.args[i - 1] === '-c:v')).toHaveLength(2);
    expect(ff!.args).not.toContain('libx264');
    const ticks0 = cpuTicks(ff!.pid);
    const t0 = Date.now();

    const a = await playlistWith('pass', '360p.m3u8', 4);
    const b = await playlistWith('pass', '180p.m3u8', 4);
    cpu.passthrough = { ticks: cpuTicks(ff!.pid) - ticks0, seconds: (Date.now() - t0) / 1000 };
    const index = read('pass', 'index.m3u8') ?? '';
    expect(index).toMatch(/RESOLUTION=640x360[^\n]*\n360p\.m3u8/);
    expect(index).toMatch(/RESOLUTION=320x180[^\n]*\n180p\.m3u8/);
    expect(index.match(/#EXT-X-STREAM-INF/g)).toHaveLength(2);
    expect(index).toMatch(/TYPE=AUDIO/);

    // Segment n of one rendition lasts what segment n of the other does: the cuts are on
    // the same media times (1 ms: the Matroska relay's time resolution).
    const common = a.filter((s) => b.some((t) => t.msn === s.msn));
    expect(common.length).toBeGreaterThanOrEqual(3);
    for (const s of common) {
      const t = b.find((x) => x.msn === s.msn)!;
      expect(Math.abs(s.duration - t.duration)).toBeLessThanOrEqual(0.002);
    }
    // And their parts: the same durations, part by part, in the segments both list parts of.
    const parts = (text: string) => {
      const by = new Map<number, number[]>();
      for (const m of text.matchAll(/#EXT-X-PART:DURATION=([\d.]+),URI="[a-z0-9-]+_(\d+)\.\d+\.m4s"/g)) {
        const msn = Number(m[2]);
        by.set(msn, [...(by.get(msn) ?? []), Number(m[1])]);
      }
      return by;
    };
    const pa = parts(read('pass', '360p.m3u8') ?? '');
    const pb = parts(read('pass', '180p.m3u8') ?? '');
    const both = common.filter((s) => pa.has(s.msn) && pb.has(s.msn));
    expect(both.length).toBeGreaterThan(0);
    for (const { msn } of both) {
      const x = pa.get(msn)!;
      const y = pb.get(msn)!;
      expect(x).toHaveLength(y.length);
      x.forEach((d, i) => expect(Math.abs(d - y[i]!)).toBeLessThanOrEqual(0.002));
    }
    const pdt = (text: string) => [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/g)].map((m) => m[1]);
    expect(pdt(read('pass', '360p.m3u8') ?? '')[0]).toBe(pdt(read('pass', '180p.m3u8') ?? '')[0]);

    expect(await probe('pass', '360p', a[1]!)).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(await probe('pass', '180p', b[1]!)).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
    expect(Number((await probe('pass', '180p', b[1]!)).nb_read_frames)).toBeGreaterThan(0);

    const job: JobView = await jobs.get('pass');
    expect(job.passthrough).toMatchObject({ active: true });
    expect(job.ladder?.rungs.map((r) => r.name)).toEqual(['360p', '180p']);
    expect((await streamView('pass')).passthrough).toMatchObject({ active: true });
    const first = firstPart.get('pass/360p');
    if (first !== undefined) console.log(`passthrough: publish → first part of 360p ${first - at} ms`);
    sources.unpublish('pass');
  }, 90_000);

  it('layers whose key frames are not aligned: the top layer is transcoded, the reason in /api/streams', async () => {
    await noFfmpeg();
    const frames = layered(
      [
        { rid: 'h', frames: hi },
        { rid: 'l', frames: loOffGop },
      ],
      hi.audio,
    );
    await publish('misaligned', frames, [{ rid: 'h' }, { rid: 'l' }]);
    const view = await waitFor(
      'the fallback on the stream view',
      async () => {
        const v = await streamView('misaligned');
        return v.passthrough?.active === false ? v : null;
      },
      30_000,
      200,
    );
    expect(view.passthrough?.reason).toMatch(
      /^the layers' key frames are not aligned: layer \w has a key frame at/,
    );
    const [ff] = await ffmpegOf(1);
    expect(ff!.args).toContain('libx264');
    const ticks0 = cpuTicks(ff!.pid);
    const t0 = Date.now();
    await playlistWith('misaligned', '180p.m3u8', 3);
    cpu.transcode = { ticks: cpuTicks(ff!.pid) - ticks0, seconds: (Date.now() - t0) / 1000 };
    const index = read('misaligned', 'index.m3u8') ?? '';
    expect(index.match(/#EXT-X-STREAM-INF/g)).toHaveLength(1);
    expect((await jobs.get('misaligned')).ladder?.rungs.map((r) => r.name)).toEqual(['180p']);
    sources.unpublish('misaligned');
  }, 90_000);

  it('a publisher without simulcast gets one rendition: its own stream', async () => {
    await noFfmpeg();
    const own = [...hi.video, ...hi.audio].sort(
      (x, y) => x.timeUs - y.timeUs || (x.kind === 'video' ? -1 : 1),
    );
    await publish('single', own, null);
    const [ff] = await ffmpegOf(1);
    expect(ff!.args.filter((a, i) => a === 'copy' && ff!.args[i - 1] === '-c:v')).toHaveLength(1);
    const segs = await playlistWith('single', '360p.m3u8', 2);
    const index = read('single', 'index.m3u8') ?? '';
    expect(index.match(/#EXT-X-STREAM-INF/g)).toHaveLength(1);
    expect(await probe('single', '360p', segs[1]!)).toMatchObject({
      codec_name: 'h264',
      width: 640,
      height: 360,
    });
    expect((await jobs.get('single')).passthrough).toMatchObject({ active: true });
    sources.unpublish('single');
  }, 90_000);
});

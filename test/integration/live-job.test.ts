import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Capabilities } from '../../src/core/capabilities.js';
import { CANCELLED_REASON, type JobView, type LiveJobData, type LiveJobResult } from '../../src/core/jobs.js';
import { createLogger } from '../../src/core/log.js';
import { parsePreset } from '../../src/core/preset.js';
import { apiRedis, closeRedis } from '../../src/core/redis.js';
import { LocalStorage } from '../../src/packager/storage/local.js';
import { JobsClient } from '../../src/workers/jobs-client.js';
import { QUEUE_NAMES } from '../../src/workers/queues.js';
import type { LiveTiming } from '../../src/workers/live-job.js';
import { WorkerRole } from '../../src/workers/worker-role.js';
import { FakeFrameSource, FakeFrameSources } from '../helpers/fake-frame-source.js';
import { interleave, makeFrames, type Frames } from '../helpers/media-frames.js';
import { childPids, RecordingPackager, RecordingPackagers } from '../helpers/recording-packager.js';
import { startRelayApp } from '../helpers/relay-app.js';
import { waitFor } from '../helpers/service-process.js';

const TOKEN = 'live-job-test-token-0123456789';
const OPUS = { codec: 'opus' as const, sampleRate: 48000 as const, channels: 2 as const };
/** Two small rungs, cheap enough for real time on a shared 2-core machine. */
const PRESET = parsePreset({
  id: 'tiny-live',
  name: 'Tiny live ladder',
  ladder: [
    { width: 320, height: 180, fps: 15, videoBitrateKbps: 300, profile: 'main' },
    { width: 256, height: 144, fps: 15, videoBitrateKbps: 150, profile: 'baseline' },
  ],
  audio: { codec: 'aac', bitrateKbps: 64, channels: 2, sampleRate: 48000 },
  gopSeconds: 1,
  segmentSeconds: 2,
  partSeconds: 0.5,
  encoders: { x264: { preset: 'ultrafast' } },
  hardware: { policy: 'never' },
});
const RENDITIONS = ['180p', '144p', 'audio'];
/** What the packager is given: the HLS renditions, and the WHEP viewers' Opus (the preset's audio is AAC). */
const PACKAGED = [...RENDITIONS, 'opus'];
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
const LIVE_TIMING = { endGraceMs: 300, relayIdleMs: 10_000 };

let counter = 0;

/** A WorkerRole (live + VOD) and a JobsClient on a queue prefix of their own. */
async function startWorker(
  dir: string,
  packagers: RecordingPackagers,
  ffmpegPath = 'ffmpeg',
  timing: Partial<LiveTiming> = LIVE_TIMING,
) {
  const prefix = `t${process.pid}live${++counter}${Date.now().toString(36)}`;
  const redisUrl = process.env.REDIS_URL ?? '';
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const storage = new LocalStorage(path.join(dir, `hls-${counter}`));
  const worker = new WorkerRole({
    redisUrl,
    prefix,
    ffmpegPath,
    hwaccel: 'none',
    capabilities: CAPABILITIES,
    storage,
    concurrency: 1,
    log,
    livePackagers: packagers.factory,
    liveTiming: timing,
  });
  const connection: Redis = apiRedis(redisUrl, 'live-job-test');
  const jobs = new JobsClient({
    connection,
    prefix,
    publicUrl: () => 'http://127.0.0.1:1',
    defaultPresetId: PRESET.id,
    resolvePreset: () => Promise.resolve(PRESET),
  });
  return {
    worker,
    jobs,
    close: async () => {
      await worker.close();
      const q = new Queue(QUEUE_NAMES.live, { connection, prefix });
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
      await jobs.close();
      await closeRedis(connection);
      await storage.close();
    },
  };
}

function liveJob(streamId: string, url: string): LiveJobData {
  return {
    kind: 'live',
    streamId,
    presetId: PRESET.id,
    preset: PRESET,
    relay: { url, token: TOKEN },
    submittedAt: new Date().toISOString(),
  };
}

/** Every rendition of the run got its init segment and at least `n` fragments. */
function runHas(p: RecordingPackager | null, run: number, n: number, names = RENDITIONS): boolean {
  const r = p?.runs[run];
  if (!r) return false;
  return names.every((name) => {
    const rec = r.renditions.get(name);
    return rec !== undefined && rec.inits === 1 && rec.fragments >= n;
  });
}

/** A fake publish session of `streamId` playing `frames` in a loop, its relay opened with TOKEN. */
function publishLooping(
  sources: FakeFrameSources,
  relayApp: Awaited<ReturnType<typeof startRelayApp>>,
  streamId: string,
  frames: Frames,
  codec: 'h264' | 'vp8' = 'h264',
): FakeFrameSource {
  const s = new FakeFrameSource({ streamId, video: { codec, width: null, height: null }, audio: OPUS });
  sources.publish(s);
  s.play(interleave(frames), { loop: true });
  relayApp.relay.authorize(streamId, TOKEN);
  return s;
}

/** Ends the sessions, then the worker and the relay; no ffmpeg may be left. */
async function tearDown(
  sources: FakeFrameSources,
  w: Awaited<ReturnType<typeof startWorker>> | undefined,
  relayApp: Awaited<ReturnType<typeof startRelayApp>> | undefined,
  dir: string,
): Promise<void> {
  sources.closeAll();
  await w?.close();
  await relayApp?.close();
  expect(childPids('pipe:0')).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
}

describe('live job: relay → ffmpeg → packager, on a real WorkerRole', () => {
  let dir: string;
  const sources = new FakeFrameSources();
  const packagers = new RecordingPackagers();
  let relayApp: Awaited<ReturnType<typeof startRelayApp>>;
  let w: Awaited<ReturnType<typeof startWorker>>;
  let h264: Frames;
  let vp8: Frames;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-live-job-'));
    relayApp = await startRelayApp(sources);
    [h264, vp8] = await Promise.all([
      makeFrames(dir, { video: 'h264', seconds: 4, audio: true, gop: 15 }),
      makeFrames(dir, { video: 'vp8', seconds: 4, audio: true, gop: 15 }),
    ]);
    w = await startWorker(dir, packagers);
  }, 60_000);

  afterAll(() => tearDown(sources, w, relayApp, dir), 30_000);

  const publish = (streamId: string, frames: Frames, codec: 'h264' | 'vp8'): FakeFrameSource =>
    publishLooping(sources, relayApp, streamId, frames, codec);

  const view = (id: string) => w.jobs.get(id);

  it('transcodes every rung and audio; a takeover is a second run; the stream’s end completes the job', async () => {
    const first = publish('cam1', h264, 'h264');
    const queued = await w.jobs.enqueueLive(liveJob('cam1', relayApp.url('cam1')));
    expect(queued).toMatchObject({ id: 'cam1', queue: 'live', assetId: 'cam1', input: 'live:cam1' });

    await waitFor('run 1 fragments', async () => runHas(packagers.latest('cam1'), 0, 2), 30_000, 100);
    const p = packagers.latest('cam1')!;
    expect(p.renditions.map((r) => r.name)).toEqual(PACKAGED);
    // Queuing it again while it runs answers the running job.
    expect((await w.jobs.enqueueLive(liveJob('cam1', relayApp.url('cam1')))).state).toBe('active');
    const run1 = p.runs[0]!;
    expect(Math.abs(run1.epochMs - first.epochMs)).toBeLessThan(2000);
    expect(childPids('pipe:0')).toHaveLength(1);
    await waitFor('progress', async () => ((await view('cam1')).progress?.outTimeMs ?? 0) > 0, 10_000);

    const second = publish('cam1', vp8, 'vp8');
    await waitFor('run 2 fragments', async () => runHas(p, 1, 2), 30_000, 100);
    expect(p.overlapped).toBe(false);
    expect([...run1.renditions.values()].every((r) => r.finished && r.parseError === null)).toBe(true);
    expect(p.runs[1]!.epochMs).toBeGreaterThanOrEqual(second.epochMs);
    expect(packagers.created.filter((x) => x.streamId === 'cam1')).toHaveLength(1);

    sources.unpublish('cam1');
    const done = await waitFor(
      'the job to complete',
      async () => {
        const j = await view('cam1');
        if (j.state === 'failed') throw new Error(`job failed: ${j.failedReason}`);
        return j.state === 'completed' ? j : null;
      },
      30_000,
    );
    expect(p.ended).toBe(true);
    expect(p.closed).toBe(true);
    const result = done.result as LiveJobResult;
    expect(result).toMatchObject({ family: 'x264', runs: 2, renditions: RENDITIONS });
    expect(result.durationMs).toBeGreaterThan(1000);
    expect(childPids('pipe:0')).toEqual([]);
    expect(relayApp.relay.openBodies).toBe(0);

    // Live again later: the finished job gives way to a new one. The stream is gone by
    // the time it runs, so it just ends the playlists a previous run left open.
    const again = await w.jobs.enqueueLive(liveJob('cam1', relayApp.url('cam1')));
    expect(again.state).toBe('waiting');
    await waitFor(
      'the second job to complete',
      async () => (await view('cam1')).state === 'completed',
      20_000,
    );
    const p2 = packagers.latest('cam1')!;
    expect(p2).not.toBe(p);
    expect(p2.runs).toHaveLength(0);
    expect(p2.ended && p2.closed).toBe(true);
    expect(((await view('cam1')).result as LiveJobResult).runs).toBe(0);
  }, 120_000);

  it('restarts a killed ffmpeg as a new run; cancel stops ffmpeg and ends the playlists', async () => {
    publish('cam2', h264, 'h264');
    await w.jobs.enqueueLive(liveJob('cam2', relayApp.url('cam2')));
    await waitFor('run 1 fragments', async () => runHas(packagers.latest('cam2'), 0, 1), 30_000, 100);
    const p = packagers.latest('cam2')!;
    const [pid] = childPids('pipe:0');
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor('run 2 fragments', async () => runHas(p, 1, 1), 30_000, 100);
    expect(childPids('pipe:0')).toHaveLength(1);
    expect(childPids('pipe:0')).not.toContain(pid);
    expect((await view('cam2')).state).toBe('active');

    const cancelled = await w.jobs.cancel('cam2');
    expect(cancelled.state).toBe('active');
    const j = await waitFor(
      'the job to be cancelled',
      async () => {
        const v = await view('cam2');
        return v.state === 'cancelled' ? v : null;
      },
      20_000,
    );
    expect(j.failedReason).toBe(CANCELLED_REASON);
    expect(p.ended).toBe(true);
    expect(p.closed).toBe(true);
    await waitFor('ffmpeg to be gone', async () => childPids('pipe:0').length === 0, 10_000, 100);
    await waitFor('the relay body to close', async () => relayApp.relay.openBodies === 0, 5000, 50);
  }, 90_000);

  it('on worker shutdown stops ffmpeg, closes the relay and hands the job back without ending the playlists', async () => {
    publish('cam3', h264, 'h264');
    await w.jobs.enqueueLive(liveJob('cam3', relayApp.url('cam3')));
    await waitFor('run 1 fragments', async () => runHas(packagers.latest('cam3'), 0, 1), 30_000, 100);
    const p = packagers.latest('cam3')!;
    await w.worker.close();
    expect(childPids('pipe:0')).toEqual([]);
    expect(p.closed).toBe(true);
    expect(p.ended).toBe(false);
    await waitFor('the relay body to close', async () => relayApp.relay.openBodies === 0, 5000, 50);
    const j: JobView = await view('cam3');
    expect(j.state).toBe('waiting');
  }, 60_000);
});

describe('live job whose ffmpeg keeps crashing', () => {
  let dir: string;
  const sources = new FakeFrameSources();
  const packagers = new RecordingPackagers();
  let relayApp: Awaited<ReturnType<typeof startRelayApp>>;
  let w: Awaited<ReturnType<typeof startWorker>>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-live-crash-'));
    relayApp = await startRelayApp(sources);
    // Reads a little of its input, then dies like a broken ffmpeg would.
    const bin = path.join(dir, 'crashing-ffmpeg');
    writeFileSync(bin, '#!/bin/sh\nhead -c 2000 >/dev/null\necho "simulated decoder failure" >&2\nexit 1\n');
    chmodSync(bin, 0o755);
    w = await startWorker(dir, packagers, bin);
  }, 30_000);

  afterAll(async () => {
    sources.closeAll();
    await w?.close();
    await relayApp?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('fails the job after five crashes within a minute, naming the last error', async () => {
    const frames = await makeFrames(dir, { video: 'h264', seconds: 2, audio: true, gop: 15 });
    publishLooping(sources, relayApp, 'crashy', frames);
    await w.jobs.enqueueLive(liveJob('crashy', relayApp.url('crashy')));
    const failed = await waitFor(
      'the job to fail',
      async () => {
        const v = await w.jobs.get('crashy');
        return v.state === 'failed' ? v : null;
      },
      60_000,
    );
    expect(failed.failedReason).toMatch(
      /ffmpeg crashed 5 times within a minute; last: .*simulated decoder failure/,
    );
    // Bounded: one retry, then failed for good.
    expect(failed.attempts).toBe(2);
    const p = packagers.latest('crashy')!;
    expect(p.runs.length).toBeGreaterThanOrEqual(5);
    expect(p.ended).toBe(false);
    expect(p.closed).toBe(true);
  }, 90_000);
});

describe('live job that cannot keep up', () => {
  let dir: string;
  const sources = new FakeFrameSources();
  const packagers = new RecordingPackagers();
  let relayApp: Awaited<ReturnType<typeof startRelayApp>>;
  let w: Awaited<ReturnType<typeof startWorker>>;
  let h264: Frames;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-live-slow-'));
    relayApp = await startRelayApp(sources);
    h264 = await makeFrames(dir, { video: 'h264', seconds: 4, audio: true, gop: 15 });
    // Every run counts as behind real time after 1 s: the mechanics of adapting, step by
    // step, not the measurement (test/unit/live-adaptation.test.ts holds that).
    w = await startWorker(dir, packagers, 'ffmpeg', {
      ...LIVE_TIMING,
      lag: { windowMs: 1000, maxLagMs: -60_000 },
    });
  }, 60_000);

  afterAll(() => tearDown(sources, w, relayApp, dir), 30_000);

  it('restarts lighter, step by step (the largest rung goes), and says so on the job', async () => {
    publishLooping(sources, relayApp, 'slow1', h264);
    await w.jobs.enqueueLive(liveJob('slow1', relayApp.url('slow1')));
    const degraded = await waitFor(
      'the job to say it was made lighter',
      async () => (await w.jobs.get('slow1')).degraded,
      30_000,
      100,
    );
    expect(degraded).toMatchObject({
      level: 1,
      changes: ['rung 180p left out'],
      reason: expect.stringMatching(/behind real time/),
    });
    const p = packagers.latest('slow1')!;
    await waitFor('a lighter run', async () => runHas(p, 1, 2, ['144p', 'audio']), 30_000, 100);
    // The lighter run feeds the smaller rung and audio only; the first run had both rungs.
    expect([...p.runs[1]!.renditions.keys()].sort()).toEqual(['144p', 'audio', 'opus']);
    expect([...p.runs[0]!.renditions.keys()].sort()).toEqual(['144p', '180p', 'audio', 'opus']);
    // Nothing lighter is left (ultrafast, one rung): it stays at that level and keeps running.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await w.jobs.get('slow1')).degraded?.level).toBe(1);
    expect((await w.jobs.get('slow1')).state).toBe('active');
    sources.unpublish('slow1');
    await waitFor(
      'the job to complete',
      async () => (await w.jobs.get('slow1')).state === 'completed',
      30_000,
    );
  }, 90_000);
});

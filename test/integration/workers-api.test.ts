import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Capabilities } from '../../src/core/capabilities.js';
import type { JobView } from '../../src/core/jobs.js';
import { createLogger } from '../../src/core/log.js';
import type { EncoderFamily, PresetInput } from '../../src/core/preset.js';
import type { PresetEntry } from '../../src/core/presets/types.js';
import { apiRedis, closeRedis } from '../../src/core/redis.js';
import type { WorkerInfo } from '../../src/core/workers.js';
import { LocalStorage } from '../../src/packager/storage/local.js';
import { JobsClient } from '../../src/workers/jobs-client.js';
import { WorkerRole } from '../../src/workers/worker-role.js';
import { makeTestClip } from '../helpers/media.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

function capabilities(families: EncoderFamily[]): Capabilities {
  return {
    ffmpegPath: 'ffmpeg',
    ffmpegVersion: 'test',
    encoders: [],
    hwaccels: [],
    filters: [],
    families,
    rejected: {},
    probedAt: new Date(0).toISOString(),
  };
}

const ladder = [{ width: 160, height: 90, fps: 10, videoBitrateKbps: 100 }];
const PRESETS: PresetInput[] = [
  { id: 'needs-nvenc', name: 'NVENC only', ladder, hardware: { policy: 'require', family: 'nvenc' } },
  { id: 'needs-vaapi', name: 'VA-API only', ladder, hardware: { policy: 'require', family: 'vaapi' } },
  {
    id: 'likes-nvenc',
    name: 'NVENC if there',
    ladder,
    audio: { codec: 'aac', bitrateKbps: 32, channels: 1, sampleRate: 48000 },
    encoders: { x264: { preset: 'ultrafast' } },
    hardware: { policy: 'prefer', family: 'nvenc' },
  },
];

/**
 * The worker registry and hardware routing against real Redis: two worker roles in this
 * process, one that claims NVENC (its "ffmpeg" holds any NVENC encode open, like a GPU
 * transcode, and runs the real ffmpeg otherwise) and a software one.
 */
describe('GET /api/workers and hardware job routing', () => {
  let svc: Awaited<ReturnType<typeof startTestService>>;
  let clip: string;
  let fakeFfmpeg: string;
  const roles: WorkerRole[] = [];
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let storage: LocalStorage;

  const get = async <T>(p: string): Promise<T> => (await (await fetch(`${svc.service.url}${p}`)).json()) as T;
  const workers = async () => (await get<{ workers: WorkerInfo[] }>('/api/workers')).workers;
  const job = (id: string) => get<JobView>(`/api/jobs/${id}`);

  function startWorker(id: string, families: EncoderFamily[], ffmpegPath = 'ffmpeg'): WorkerRole {
    const role = new WorkerRole({
      id,
      redisUrl: process.env.REDIS_URL ?? '',
      prefix: svc.service.config.queuePrefix,
      ffmpegPath,
      hwaccel: 'auto',
      capabilities: capabilities(families),
      storage,
      concurrency: 1,
      log,
    });
    roles.push(role);
    return role;
  }

  beforeAll(async () => {
    svc = await startTestService({ ROLES: 'api' });
    storage = new LocalStorage(path.join(svc.dir, 'worker-hls'));
    clip = await makeTestClip(path.join(svc.dir, 'media'), {
      seconds: 2,
      width: 160,
      height: 90,
      fps: 10,
      audio: true,
    });
    fakeFfmpeg = path.join(svc.dir, 'ffmpeg-claims-nvenc');
    writeFileSync(
      fakeFfmpeg,
      '#!/bin/sh\nfor a in "$@"; do [ "$a" = h264_nvenc ] && exec sleep 30; done\nexec ffmpeg "$@"\n',
    );
    chmodSync(fakeFfmpeg, 0o755);
    for (const preset of PRESETS) {
      const res = await fetch(`${svc.service.url}/api/presets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(preset),
      });
      expect(res.status).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(roles.map((r) => r.close()));
    await storage?.close();
    await svc?.close();
  });

  it('refuses a file job whose required family no running worker has (422)', async () => {
    startWorker('software-1', ['x264']);
    await waitFor('the software worker to register', async () => (await workers()).length === 1, 5000);
    const res = await fetch(`${svc.service.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: path.basename(clip), presetId: 'needs-vaapi', id: 'wants-vaapi' }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('hardware_unavailable');
    expect((await fetch(`${svc.service.url}/api/jobs/wants-vaapi`)).status).toBe(404);
  });

  it('keeps a job that requires NVENC in the nvenc queue until a worker with NVENC takes it', async () => {
    // Queued past the API's check (as when the NVENC worker restarts): it waits, the software worker leaves it.
    const connection = apiRedis(process.env.REDIS_URL ?? '', 'workers-api-test');
    const client = new JobsClient({
      connection,
      prefix: svc.service.config.queuePrefix,
      publicUrl: () => svc.service.url,
      defaultPresetId: 'needs-nvenc',
      resolvePreset: async (id) => (await get<PresetEntry>(`/api/presets/${id}`)).preset,
    });
    try {
      const queued = await client.enqueueVod({
        id: 'gpu-job',
        presetId: 'needs-nvenc',
        input: { path: clip, deleteAfter: false, label: 'clip' },
      });
      expect(queued).toMatchObject({ queue: 'vod', queueName: 'vod-nvenc', state: 'waiting' });
    } finally {
      await client.close();
      await closeRedis(connection);
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(await job('gpu-job')).toMatchObject({ state: 'waiting', worker: null });

    startWorker('gpu-1', ['x264', 'nvenc'], fakeFfmpeg);
    const running = await waitFor(
      'the NVENC worker to take the job',
      async () => {
        const j = await job('gpu-job');
        return j.state === 'active' && j.encoder ? j : null;
      },
      15_000,
    );
    expect(running).toMatchObject({
      queueName: 'vod-nvenc',
      worker: 'gpu-1',
      encoder: { family: 'nvenc', hwFallback: false },
    });
    const list = (await get<{ jobs: JobView[] }>('/api/jobs')).jobs;
    expect(list.find((j) => j.id === 'gpu-job')).toMatchObject({ queueName: 'vod-nvenc', state: 'active' });

    // Both workers are listed, with their families, queues and running jobs.
    const ws = await waitFor(
      'the registry to show the running job',
      async () => {
        const all = await workers();
        return all.find((w) => w.id === 'gpu-1')?.jobs.length ? all : null;
      },
      5000,
    );
    expect(ws.map((w) => w.id)).toEqual(['gpu-1', 'software-1']);
    const [gpu, sw] = ws as [WorkerInfo, WorkerInfo];
    expect(gpu).toMatchObject({
      families: ['x264', 'nvenc'],
      queues: ['vod', 'vod-nvenc', 'vod-hw'],
      concurrency: 1,
      jobs: [{ id: 'gpu-job', kind: 'vod', queue: 'vod-nvenc' }],
      pid: process.pid,
    });
    expect(gpu.load.cpus).toBeGreaterThan(0);
    expect(typeof gpu.version).toBe('string');
    expect(sw).toMatchObject({ families: ['x264'], queues: ['vod'], jobs: [] });

    // Cancel reaches the worker through the family queue's worker.
    const del = await fetch(`${svc.service.url}/api/jobs/gpu-job`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    await waitFor(
      'the job to be cancelled',
      async () => (await job('gpu-job')).state === 'cancelled',
      10_000,
    );
    await waitFor(
      'the registry to drop the job',
      async () => (await workers()).find((w) => w.id === 'gpu-1')?.jobs.length === 0,
      5000,
    );
  }, 60_000);

  it('a worker that closes leaves the list at once', async () => {
    const gpu = roles.find((r) => r.id === 'gpu-1');
    await gpu?.close();
    expect((await workers()).map((w) => w.id)).toEqual(['software-1']);
  });

  it('falls back from preferred NVENC to x264 on a software worker, and says so on the job', async () => {
    const res = await fetch(`${svc.service.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: path.basename(clip), presetId: 'likes-nvenc', id: 'fallback' }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ queueName: 'vod' });
    const done = await waitFor(
      'the fallback job to complete',
      async () => {
        const j = await job('fallback');
        if (j.state === 'failed') throw new Error(j.failedReason ?? 'failed');
        return j.state === 'completed' ? j : null;
      },
      30_000,
    );
    expect(done).toMatchObject({
      worker: 'software-1',
      encoder: { family: 'x264', hwFallback: true },
      result: { family: 'x264', hwFallback: true },
    });
    expect(done.encoder?.reason).toMatch(/prefers nvenc/);
  }, 40_000);
});

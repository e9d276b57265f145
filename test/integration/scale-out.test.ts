import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exited } from '../../src/core/child.js';
import type { JobView } from '../../src/core/jobs.js';
import { makeTestClip } from '../helpers/media.js';
import { PlaylistMonitor } from '../helpers/playlist-monitor.js';
import { childPids } from '../helpers/recording-packager.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

const STREAM = 'scaleout';
const RUN_STARTED = new RegExp(`"streamId":"${STREAM}".*"msg":"live run started"`);

/**
 * Roles on different processes, as on different machines: one API + ingest process with
 * no worker role and worker processes (`npm run worker`) against one Redis. One live
 * stream and two file jobs spread over two workers; then the live stream survives what
 * happens to its worker — its ffmpeg killed, the worker stopped with SIGTERM, the next
 * worker killed with SIGKILL — while a viewer-like monitor watches the playlist: the
 * media sequence never goes back, nothing listed answers an error, each failover is a
 * discontinuity, and the gaps between parts are printed and bounded.
 */
describe('scale-out: API, ingest and workers in separate processes', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-scale-'));
  const env = {
    REDIS_URL: process.env.REDIS_URL ?? '',
    QUEUE_PREFIX: `t${Date.now().toString(36)}so`,
    DATA_DIR: path.join(dir, 'data'),
    MEDIA_DIR: path.join(dir, 'media'),
    HWACCEL: 'none',
    WORKER_CONCURRENCY: '1',
  };
  const owned: ServiceProcess[] = [];
  let api: ServiceProcess;
  const workers: ServiceProcess[] = [];
  let client: WhipTestClient | null = null;
  let monitor: PlaylistMonitor | null = null;
  let clip = '';

  const startWorker = async () => {
    const w = await ServiceProcess.start({ worker: true, env });
    owned.push(w);
    workers.push(w);
    return w;
  };
  const liveWorker = () =>
    workers.find((w) => w.child.exitCode === null && RUN_STARTED.test(w.output.join('')));
  const runsIn = (w: ServiceProcess) =>
    w.output
      .join('')
      .split('\n')
      .filter((l) => RUN_STARTED.test(l)).length;
  const job = async (id: string) => (await (await fetch(`${api.url}/api/jobs/${id}`)).json()) as JobView;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    clip = await makeTestClip(env.MEDIA_DIR, { seconds: 4, width: 640, height: 360, fps: 30, audio: true });
    api = await ServiceProcess.start({ env: { ...env, PORT: '0', ROLES: 'api,ingest' } });
    owned.push(api);
    await Promise.all([startWorker(), startWorker()]);
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    monitor?.stop();
    await client?.close();
    await Promise.all(owned.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
    turn?.release();
  });

  it('spreads one live stream and two file jobs over two worker processes', async () => {
    expect(api.output.join('')).not.toMatch(/"msg":"worker started"/);
    client = await WhipTestClient.publish({
      url: `${api.url}/whip/${STREAM}?preset=light`,
      seconds: 90,
      x264Preset: 'ultrafast',
    });
    for (const id of ['file1', 'file2']) {
      const res = await fetch(`${api.url}/api/vod`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: path.basename(clip), presetId: 'light', id }),
      });
      expect(res.status).toBe(202);
    }
    for (const id of ['file1', 'file2']) {
      await waitFor(
        `${id} to complete`,
        async () => {
          const j = await job(id);
          if (j.state === 'failed') throw new Error(`${id} failed: ${j.failedReason}`);
          return j.state === 'completed';
        },
        90_000,
        500,
      );
    }
    const completedBy = (id: string) =>
      workers.findIndex((w) => new RegExp(`"jobId":"${id}".*"msg":"job completed"`).test(w.output.join('')));
    // One VOD job each: a worker runs one file job at a time (WORKER_CONCURRENCY=1).
    expect(new Set([completedBy('file1'), completedBy('file2')])).toEqual(new Set([0, 1]));
    await waitFor('the live job to run on a worker', async () => liveWorker() !== undefined, 30_000);
    expect((await job(STREAM)).state).toBe('active');

    monitor = new PlaylistMonitor(`${api.url}/hls/${STREAM}`, '240p');
    monitor.start();
    await waitFor('parts listed', async () => monitor!.partSeen.size > 6, 30_000);
  }, 180_000);

  it('keeps the live stream across an ffmpeg crash, a SIGTERM and a SIGKILL of its workers', async () => {
    const m = monitor!;
    const figures: Record<string, number> = {};

    // 1. ffmpeg dies alone: its worker restarts it with backoff.
    const a = liveWorker()!;
    // The worker's own ffmpeg (its child), not one of another test's.
    const [first] = childPids('pipe:0', a.pid);
    expect(first).toBeDefined();
    const crashAt = Date.now();
    process.kill(first!, 'SIGKILL');
    await waitFor('ffmpeg restarted', async () => runsIn(a) >= 2, 15_000, 100);
    await waitFor('parts after the crash', async () => m.partsAfter(crashAt) >= 6, 20_000, 100);
    figures.ffmpegCrashGapMs = m.maxGapMs(crashAt, Date.now());

    // 2. SIGTERM: the worker hands the job back (after ffmpeg flushed) and exits.
    const b = workers.find((w) => w !== a && w.child.exitCode === null)!;
    const termAt = Date.now();
    a.child.kill('SIGTERM');
    await waitFor('the other worker to take the live job', async () => runsIn(b) >= 1, 15_000, 50);
    figures.sigtermHandoffMs = Date.now() - termAt;
    await exited(a.child);
    figures.sigtermExitMs = Date.now() - termAt;
    expect(a.child.exitCode).toBe(0);
    expect(a.output.join('')).toMatch(/letting ffmpeg flush/);
    expect(a.output.join('')).not.toMatch(/missing lock/i);
    await waitFor('parts after the handoff', async () => m.partsAfter(termAt) >= 6, 20_000, 100);
    figures.sigtermGapMs = m.maxGapMs(termAt, Date.now());

    // 3. SIGKILL: BullMQ's stall detection hands the job to a third worker.
    const c = await startWorker();
    const killAt = Date.now();
    await b.kill9();
    await waitFor('the third worker to take the live job', async () => runsIn(c) >= 1, 30_000, 100);
    await waitFor('parts after the failover', async () => m.partsAfter(killAt) >= 6, 20_000, 100);
    figures.sigkillGapMs = m.maxGapMs(killAt, Date.now());
    m.stop();

    console.log(`scale-out failover figures: ${JSON.stringify(figures)}`);
    expect(m.problems).toEqual([]);
    // Each new run after a crash or handover starts with a discontinuity.
    expect(m.maxDiscontinuities).toBeGreaterThanOrEqual(3);
    expect(figures.ffmpegCrashGapMs).toBeLessThanOrEqual(3000);
    expect(figures.sigtermHandoffMs).toBeLessThanOrEqual(5000);
    expect(figures.sigtermExitMs).toBeLessThanOrEqual(30_000);
    expect(figures.sigkillGapMs).toBeLessThanOrEqual(15_000);
  }, 180_000);

  it('on SIGTERM the API answers WHIP with 503 and Retry-After, then exits', async () => {
    await client?.close();
    client = null;
    api.child.kill('SIGTERM');
    // The signal reaches the process a moment later: readiness says when it is draining.
    await waitFor(
      'the API to drain',
      async () => (await fetch(`${api.url}/readyz`)).status === 503,
      5000,
      20,
    );
    const res = await fetch(`${api.url}/whip/another`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: 'v=0\r\n',
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const t0 = Date.now();
    await exited(api.child);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(api.child.exitCode).toBe(0);
  }, 60_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrivateRedis } from '../../src/core/redis-server.js';
import { PlaylistMonitor } from '../helpers/playlist-monitor.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';
import { WhipTestClient } from '../helpers/whip-client.js';

const runStarted = (id: string) => new RegExp(`"streamId":"${id}".*"msg":"live run started"`);

/**
 * Roles in separate processes (API + ingest, one worker) against one Redis of their own,
 * which freezes for 5 s and then dies (a crash after a hang: every connection first hangs,
 * then is reset, then reconnects). Once it is back, the API's origin hears the worker's
 * announcements again and the worker takes new jobs, each within 5 s.
 */
describe('separate processes after their Redis comes back', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-redis-scale-'));
  let redis: PrivateRedis;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  const clients: WhipTestClient[] = [];
  let monitor: PlaylistMonitor | null = null;
  let frozen: number | undefined;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `t${Date.now().toString(36)}rf`,
      DATA_DIR: path.join(dir, 'data'),
      HWACCEL: 'none',
    };
    [api, worker] = await Promise.all([
      ServiceProcess.start({ env: { ...env, PORT: '0', ROLES: 'api,ingest' } }),
      ServiceProcess.start({ worker: true, env }),
    ]);
  }, 60_000);

  afterAll(async () => {
    if (frozen !== undefined) {
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        // gone already
      }
    }
    monitor?.stop();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([api?.close(), worker?.close()]);
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A small publisher on the API process, closed with the test. */
  const publish = async (id: string, seconds: number) =>
    clients.push(
      await WhipTestClient.publish({
        url: `${api.url}/whip/${id}?preset=light`,
        width: 320,
        height: 180,
        seconds,
      }),
    );

  it('resume announcements and job taking within 5 s of Redis returning', async () => {
    await publish('before', 60);
    await waitFor(
      'the worker to run it',
      async () => runStarted('before').test(worker.output.join('')),
      30_000,
    );
    monitor = new PlaylistMonitor(`${api.url}/hls/before`, '240p', { fullCheckEveryMs: null });
    monitor.start(100);
    await waitFor('parts on the API', async () => monitor!.partSeen.size >= 6, 30_000, 100);

    const pid = redis.pid!;
    frozen = pid;
    const frozenAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 5000));
    const back = new Promise<number>((resolve) => redis.onRestart(() => resolve(Date.now())));
    process.kill(pid, 'SIGKILL');
    frozen = undefined;
    const backAt = await back;

    // Announcements: the API's playlist lists a part made after Redis returned.
    const announcedAt = await waitFor(
      'a new part on the API',
      async () => (monitor!.partsAfter(backAt) > 0 ? Date.now() : null),
      20_000,
      50,
    );
    // Jobs: a stream published now runs on the worker.
    const published = await waitFor(
      'WHIP to accept again',
      async () => ((await fetch(`${api.url}/readyz`)).status === 200 ? Date.now() : null),
      20_000,
      100,
    );
    await publish('after', 30);
    const takenAt = await waitFor(
      'the worker to take the new stream',
      async () => (runStarted('after').test(worker.output.join('')) ? Date.now() : null),
      20_000,
      50,
    );
    const figures = {
      outageMs: backAt - frozenAt,
      announcementsBackMs: announcedAt - backAt,
      readyBackMs: published - backAt,
      newJobTakenAfterPublishMs: takenAt - published,
      longestPartGapMs: monitor.maxGapMs(frozenAt - 1000, Date.now()),
    };
    console.log(`redis freeze 5 s then crash, separate processes: ${JSON.stringify(figures)}`);
    expect(figures.announcementsBackMs).toBeLessThanOrEqual(5000);
    expect(figures.readyBackMs).toBeLessThanOrEqual(5000);
    expect(figures.newJobTakenAfterPublishMs).toBeLessThanOrEqual(5000);
    expect(monitor.problems.filter((p) => /went back/.test(p))).toEqual([]);
    // The processes said it once per connection and change, and no error lines.
    const errors = [api, worker].flatMap((p) =>
      p.output
        .join('')
        .split('\n')
        .filter((l) => /"level":50/.test(l)),
    );
    expect(errors).toEqual([]);
  }, 120_000);
});

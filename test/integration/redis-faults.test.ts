import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import { PlaylistMonitor } from '../helpers/playlist-monitor.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';
import { WhipTestClient } from '../helpers/whip-client.js';

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The JSON log lines whose msg matches. */
function lines(sp: ServiceProcess, msg: RegExp): Record<string, unknown>[] {
  return sp.output
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => msg.test(String(l['msg'])));
}

async function readiness(url: string): Promise<{ status: number; redis: string }> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { checks: { redis: string } };
  return { status: res.status, redis: body.checks.redis };
}

/**
 * `npm start` with REDIS_URL unset, a live stream playing: its private redis-server is
 * SIGKILLed, then SIGSTOPped for 8 s. Playback never stops, the server comes back by
 * itself with the queue as it was, and the process says what it cannot do meanwhile.
 */
describe('a live stream while its Redis dies and freezes', () => {
  let dir: string;
  let sp: ServiceProcess;
  let client: WhipTestClient | null = null;
  let monitor: PlaylistMonitor | null = null;
  let stopped: number | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-redis-faults-'));
    sp = await ServiceProcess.start({ env: { PORT: '0', DATA_DIR: dir, HWACCEL: 'none' } });
  }, 30_000);

  afterAll(async () => {
    if (stopped !== null && alive(stopped)) process.kill(stopped, 'SIGCONT');
    monitor?.stop();
    await client?.close();
    await sp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps playing through both, restarts the dead server and says so once', async () => {
    const base = sp.url;
    const redisPid = Number(/"redisPid":(\d+)/.exec(sp.output.join(''))?.[1]);
    expect(alive(redisPid)).toBe(true);
    client = await WhipTestClient.publish({
      url: `${base}/whip/faulty?preset=light`,
      width: 320,
      height: 180,
    });
    monitor = new PlaylistMonitor(`${base}/hls/faulty`, '240p', { fullCheckEveryMs: null });
    monitor.start(100);
    await waitFor('parts', async () => monitor!.partSeen.size >= 8, 40_000, 100);

    // Killed: restarted on the same port, the live job still there (its append-only file).
    const killedAt = Date.now();
    process.kill(redisPid, 'SIGKILL');
    const restarted = await waitFor(
      'the restart',
      async () => lines(sp, /runs again/)[0] ?? null,
      15_000,
      50,
    );
    const readyAgain = await waitFor(
      '/readyz 200',
      async () => ((await readiness(base)).status === 200 ? Date.now() : null),
      10_000,
      100,
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const newPid = Number(restarted['pid']);
    expect(newPid).not.toBe(redisPid);
    expect(alive(newPid)).toBe(true);
    const job = (await (await fetch(`${base}/api/jobs/faulty`)).json()) as JobView;
    expect(job.state).toBe('active');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/whipcast_redis_restarts_total 1/);
    await new Promise((r) => setTimeout(r, 2000));
    const killGap = monitor.maxGapMs(killedAt - 2000, Date.now());

    // Frozen for 8 s: not ready (and why), publishes refused with Retry-After, playback on.
    stopped = newPid;
    const stoppedAt = Date.now();
    process.kill(newPid, 'SIGSTOP');
    const notReady = await waitFor(
      '/readyz 503',
      async () => {
        const r = await readiness(base);
        return r.status === 503 ? r : null;
      },
      6000,
      200,
    );
    expect(notReady.redis).toMatch(/^unreachable: .*PING/);
    const refused = await fetch(`${base}/whip/second`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: client.offer,
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.text()).toMatch(/Redis/);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + 8000 - Date.now())));
    process.kill(newPid, 'SIGCONT');
    stopped = null;
    const contAt = Date.now();
    const back = await waitFor(
      '/readyz 200 after SIGCONT',
      async () => ((await readiness(base)).status === 200 ? Date.now() : null),
      10_000,
      100,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const stopGap = monitor.maxGapMs(stoppedAt, Date.now());
    console.log(
      `redis SIGKILL: restarted, /readyz 200 after ${readyAgain - killedAt} ms; longest wait between parts ${killGap} ms. ` +
        `redis SIGSTOP 8 s: longest wait between parts ${stopGap} ms; /readyz 200 ${back - contAt} ms after SIGCONT`,
    );
    // A viewer saw no stall: parts every 1/3 s (light), a wait of 2 s at worst on a busy machine.
    expect(killGap).toBeLessThan(2000);
    expect(stopGap).toBeLessThan(2000);
    expect(back - contAt).toBeLessThan(5000);
    expect(monitor.problems.filter((p) => /went back/.test(p))).toEqual([]);
    expect((await (await fetch(`${base}/api/jobs/faulty`)).json()) as JobView).toMatchObject({
      state: 'active',
    });

    // Once per change and connection: gone, then back; never a line per retry.
    const gone = lines(sp, /^Redis unreachable/);
    const again = lines(sp, /^Redis answers again/);
    expect(gone.filter((l) => l['redis'] === 'queue')).toHaveLength(2);
    expect(again.filter((l) => l['redis'] === 'queue')).toHaveLength(2);
    expect(lines(sp, /worker error|could not queue/)).toEqual([]);
    expect(gone.length).toBeLessThanOrEqual(6);
  }, 120_000);
});

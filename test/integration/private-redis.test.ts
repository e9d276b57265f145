import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';

/** Running (a zombie waiting for a reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** With REDIS_URL unset, `npm start` runs a private redis-server that never outlives it. */
describe('the private redis-server', () => {
  const dirs: string[] = [];
  const owned: ServiceProcess[] = [];
  afterEach(async () => {
    await Promise.all(owned.splice(0).map((p) => p.close()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(): Promise<{ sp: ServiceProcess; redisPid: number }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-redis-'));
    dirs.push(dir);
    const sp = await ServiceProcess.start({ env: { PORT: '0', DATA_DIR: dir, HWACCEL: 'none' } });
    owned.push(sp);
    const m = /"redisPid":(\d+)/.exec(sp.output.join(''));
    expect(m).not.toBeNull();
    const redisPid = Number(m?.[1]);
    expect(alive(redisPid)).toBe(true);
    const ready = await fetch(`${sp.url}/readyz`);
    expect(ready.status).toBe(200);
    return { sp, redisPid };
  }

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops with the process on %s',
    async (signal) => {
      const { sp, redisPid } = await start();
      sp.child.kill(signal);
      await waitFor('the service to exit', async () => sp.child.exitCode !== null, 15_000);
      expect(sp.child.exitCode).toBe(0);
      await waitFor('redis-server to exit', async () => !alive(redisPid), 5_000);
    },
    40_000,
  );

  it('stops when the process crashes (SIGKILL)', async () => {
    const { sp, redisPid } = await start();
    await sp.kill9();
    await waitFor('redis-server to exit', async () => !alive(redisPid), 5_000);
  }, 40_000);
});

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import { PlaylistMonitor } from '../helpers/playlist-monitor.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** `chattr +i` on a folder makes creating files in it fail with EPERM, even for root (ext4, xfs). */
function immutable(dir: string, on: boolean): boolean {
  return spawnSync('chattr', [on ? '+i' : '-i', dir], { stdio: 'ignore' }).status === 0;
}

const canFreeze = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = path.join(process.env.TMPDIR ?? '/tmp', `whipcast-chattr-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  const ok = immutable(probe, true);
  immutable(probe, false);
  return ok;
})();

/**
 * The stream's storage folder refuses every write for 20 s mid-stream (made immutable): the
 * stream goes on, its playlist never goes back, and new parts come soon after storage
 * takes writes again.
 */
(canFreeze ? describe : describe.skip)('a live stream whose storage fails for 20 s', () => {
  let t: Started;
  let client: WhipTestClient | null = null;
  let folder = '';

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
  }, HEAVY_SUITE_SETUP_MS);
  afterAll(async () => {
    if (folder) immutable(folder, false);
    await client?.close();
    await t?.close();
    turn?.release();
  });

  it('goes on, never goes back, and publishes again soon after', async () => {
    const base = t.service.url;
    client = await WhipTestClient.publish({
      url: `${base}/whip/frozen?preset=light`,
      width: 320,
      height: 180,
    });
    const monitor = new PlaylistMonitor(`${base}/hls/frozen`, '240p', { fullCheckEveryMs: null });
    monitor.start(100);
    try {
      await waitFor('parts', async () => monitor.partSeen.size >= 10, 30_000, 100);
      folder = path.join(t.dir, 'data', 'hls', 'frozen');
      expect(immutable(folder, true)).toBe(true);
      const frozenAt = Date.now();
      await new Promise((r) => setTimeout(r, 20_000));
      immutable(folder, false);
      const thawedAt = Date.now();
      const back = await waitFor(
        'a new part after storage came back',
        async () => [...monitor.partSeen.values()].find((at) => at > thawedAt) ?? null,
        15_000,
        100,
      );
      await new Promise((r) => setTimeout(r, 3000));
      const job = (await (await fetch(`${base}/api/jobs/frozen`)).json()) as JobView;
      console.log(
        `storage frozen 20 s: first new part ${back - thawedAt} ms after it came back; ` +
          `longest wait between parts ${monitor.maxGapMs(frozenAt - 5000, Date.now())} ms`,
      );
      expect(back - thawedAt).toBeLessThan(10_000);
      // The job never failed or restarted its ffmpeg over it, and the playlist only moved forward.
      expect(job.state).toBe('active');
      expect(job.attempts).toBe(0);
      expect(monitor.problems.filter((p) => /went back|media sequence/.test(p))).toEqual([]);
      expect(monitor.partsAfter(thawedAt)).toBeGreaterThan(5);
    } finally {
      monitor.stop();
      if (folder) immutable(folder, false);
    }
  }, 90_000);
});

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Suites that push real media through a live transcode while timing what players and
 * publishers see (a 720p ladder beside an ffmpeg publisher, browsers, simulcast encoders)
 * take turns: two of them at once on a 2-core runner starve each other's encoders (key
 * frames of simulcast layers drift apart, held requests time out), which is the machine's
 * limit, not the product's. Jest runs two suites at a time; the other may be any light one.
 * The lock is a directory (mkdir is atomic) holding the owner's pid; a dead owner's lock
 * is taken over.
 */
const LOCK = path.join(
  os.tmpdir(),
  `whipcast-heavy-suite-${process.env.REDIS_URL?.replace(/\W/g, '') ?? 'any'}`,
);
const POLL_MS = 250;

function ownerAlive(): boolean {
  try {
    const pid = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no other heavy suite runs, then holds the turn until release() (idempotent). */
export async function heavySuiteTurn(): Promise<{ release(): void }> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock whose pid file is not written yet is being taken: only a dead owner's is stale.
      if (!ownerAlive()) {
        await new Promise((r) => setTimeout(r, POLL_MS));
        if (!ownerAlive()) rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      rmSync(LOCK, { recursive: true, force: true });
    },
  };
}

/** How long a heavy suite's beforeAll may wait for its turn and then start. */
export const HEAVY_SUITE_SETUP_MS = 300_000;

import type { QueueKind } from '../core/jobs.js';

/** BullMQ queue names; the Redis key prefix (QUEUE_PREFIX) keeps tenants and tests apart. */
export const QUEUE_NAMES: Record<QueueKind, string> = { vod: 'vod', live: 'live' };

/** Redis pub/sub channel on which the API asks whichever worker holds a job to abort it. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

/** Cancelled-before-start jobs are removed from BullMQ; this hash remembers them for GET. */
export function cancelledKey(prefix: string): string {
  return `${prefix}:cancelled`;
}

/**
 * Stall detection: a worker renews its lock every lockDuration/2; a job whose lock
 * lapses (its worker was killed) is handed to another worker at the next stalled check.
 * VOD jobs restart from the beginning, so a short lock mostly costs Redis round trips.
 */
export const VOD_LOCK_MS = 10_000;
export const VOD_STALLED_INTERVAL_MS = 5_000;
/** A job that killed its worker this many times fails instead of killing more. */
export const MAX_STALLED_COUNT = 2;

/**
 * Live jobs run for hours and a stall leaves viewers waiting, so a dead worker's live
 * job is handed over sooner: the lock (renewed every LIVE_LOCK_MS/2) lapses after 8 s
 * and the stalled check runs every 3 s, so another worker resumes within ~11 s.
 */
export const LIVE_LOCK_MS = 8_000;
export const LIVE_STALLED_INTERVAL_MS = 3_000;
/** Worker deaths one live job may cause before it fails (a clean shutdown hands it back without counting). */
export const LIVE_MAX_STALLED_COUNT = 3;
/** Attempts of a live job: one retry after a failure; the stream's next publish queues it anew. */
export const LIVE_ATTEMPTS = 2;

import type { HwaccelSetting } from '../core/config.js';
import { queueName, type QueueKind, type QueueRoute } from '../core/jobs.js';
import { HARDWARE_FAMILIES, type EncoderFamily, type Preset } from '../core/preset.js';
import { allowedByHwaccel } from './ffmpeg/encoder-choice.js';

export { allQueueNames, queueName, QUEUE_KINDS, QUEUE_ROUTES, type QueueRoute } from '../core/jobs.js';

/** The generic BullMQ queue names: jobs any worker may take (software, or hardware it prefers). */
export const QUEUE_NAMES: Record<QueueKind, string> = {
  vod: queueName('vod', 'any'),
  live: queueName('live', 'any'),
};

/** The route a preset's jobs take: only a preset that *requires* hardware leaves the generic queue. */
export function presetRoute(preset: Pick<Preset, 'hardware'>): QueueRoute {
  const { policy, family } = preset.hardware;
  if (policy !== 'require') return 'any';
  return family ?? 'hw';
}

/** The queue a job of this kind with this preset is added to. */
export function jobQueueName(preset: Pick<Preset, 'hardware'>, kind: QueueKind): string {
  return queueName(kind, presetRoute(preset));
}

/**
 * The routes a worker consumes: the generic one, each hardware family its probe proved
 * and HWACCEL allows, and `hw` when it has at least one: a job whose preset requires
 * hardware only reaches a worker that proved it.
 */
export function workerRoutes(families: readonly EncoderFamily[], hwaccel: HwaccelSetting): QueueRoute[] {
  const allowed = allowedByHwaccel(hwaccel);
  const hardware = HARDWARE_FAMILIES.filter((f) => families.includes(f) && allowed.includes(f));
  return ['any', ...hardware, ...(hardware.length > 0 ? (['hw'] as const) : [])];
}

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

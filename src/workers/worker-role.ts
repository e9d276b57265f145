import os from 'node:os';
import { DelayedError, Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Capabilities } from '../core/capabilities.js';
import type { HwaccelSetting } from '../core/config.js';
import { AppError, errorMessage } from '../core/errors.js';
import {
  CANCELLED_REASON,
  type LiveJobData,
  type LiveJobResult,
  type QueueKind,
  type VodJobData,
  type VodJobResult,
} from '../core/jobs.js';
import type { WorkerJob } from '../core/workers.js';
import type { Logger } from '../core/log.js';
import { closeRedis, withTimeout, workerRedis } from '../core/redis.js';
import { isConnectionError, RedisWatch } from '../core/redis-watch.js';
import type { LivePackagerFactory, Storage } from '../packager/index.js';
import { jobRunRecord } from './ladder.js';
import { runLiveJob, type LiveTiming } from './live-job.js';
import { LiveCapacity, streamCores } from './live-capacity.js';
import {
  cancelChannel,
  LIVE_LOCK_MS,
  LIVE_MAX_STALLED_COUNT,
  LIVE_STALLED_INTERVAL_MS,
  MAX_STALLED_COUNT,
  queueName,
  VOD_LOCK_MS,
  VOD_STALLED_INTERVAL_MS,
  workerRoutes,
} from './queues.js';
import { isShutdown, SHUTDOWN_REASON } from './shutdown.js';
import { runVodJob } from './vod-job.js';
import { deleteUpload } from './uploads.js';
import { WorkerRegistry } from './worker-registry.js';

export interface WorkerRoleOptions {
  redisUrl: string;
  prefix: string;
  ffmpegPath: string;
  hwaccel: HwaccelSetting;
  capabilities: Capabilities;
  storage: Storage;
  concurrency: number;
  log: Logger;
  /**
   * Builds the live LL-HLS packager of a live job. Without it this role takes no live
   * jobs (it logs so): VOD only.
   */
  livePackagers?: LivePackagerFactory;
  /**
   * Live streams one process transcodes at once: a number, or unset for as many as its
   * cores can encode (live-capacity.ts). @defaultValue estimated from the cores
   */
  liveConcurrency?: number;
  /** Cores live streams may fill when the capacity is estimated. @defaultValue 85 % of the cores */
  liveCores?: number;
  /** Live restart and timeout tuning (tests shorten it). */
  liveTiming?: Partial<LiveTiming>;
  /**
   * The worker's name in BullMQ and the worker registry; unique per deployment.
   * @defaultValue `hostname:pid` (tests running two roles in one process set their own)
   */
  id?: string;
}

/** A live job this worker has no room for goes back to the queue for this long, ms. */
const LIVE_ADMIT_RETRY_MS = 1000;

/** Reason given to the abort signal of a live job whose lock another worker may now hold. */
const LOCK_LOST = 'job lock lost';
/** BullMQ's words for a lock that lapsed, and how long after an outage they are its doing. */
const LOCK_ERROR = /could not renew lock|lock mismatch|missing lock/i;
const LOCK_OUTAGE_MS = 30_000;

/** Codes that no retry can fix: fail the job at once with the reason. */
const UNRECOVERABLE = new Set([
  'hardware_unavailable',
  'validation_failed',
  'bad_request',
  'not_found',
  'unauthorized',
]);

/**
 * The worker role: takes transcode jobs from BullMQ, one ffmpeg each, and packages
 * the output. Any number of these run against one Redis, in any process.
 *
 * It consumes the generic queues (`vod`, `live`) and, per hardware family its probe
 * proved (and HWACCEL allows), that family's queues (`vod-nvenc`, …) plus `vod-hw`/
 * `live-hw` (any hardware): a preset that requires hardware only reaches a worker that
 * has it. Concurrency applies per queue. It announces itself in the worker registry.
 */
export class WorkerRole {
  readonly id: string;
  readonly #opts: WorkerRoleOptions;
  /** One BullMQ worker per queue this role consumes, generic queue first. */
  readonly #vod: Worker<VodJobData, VodJobResult>[] = [];
  /** Empty without a live packager factory. */
  readonly #live: Worker<LiveJobData, LiveJobResult>[] = [];
  /** Jobs running here, by id: the registry heartbeat reports them. */
  readonly #running = new Map<string, WorkerJob>();
  /** How many live streams this worker takes now, from the estimated cost of those it runs. */
  readonly #liveCapacity: LiveCapacity;
  readonly #registry: WorkerRegistry;
  /** The BullMQ queues this role consumes (generic first, then per hardware family). */
  readonly queues: string[];
  readonly #subscriber: Redis;
  /** BullMQ never closes a connection it was handed, so this role does. */
  readonly #connection: Redis;
  /** Says once that Redis went away and once that it came back: BullMQ's own errors repeat per retry. */
  readonly #redisWatch: RedisWatch;
  #closing: Promise<void> | null = null;

  constructor(opts: WorkerRoleOptions) {
    this.#opts = opts;
    this.id = opts.id ?? `${os.hostname()}:${process.pid}`;
    const log = opts.log.child({ role: 'worker', workerId: this.id });
    this.#connection = workerRedis(opts.redisUrl, `whipcast-worker-${process.pid}`);
    this.#connection.on('error', () => undefined);
    this.#redisWatch = new RedisWatch({ redis: this.#connection, name: 'worker', log });
    const routes = workerRoutes(opts.capabilities.families, opts.hwaccel);
    this.#liveCapacity = new LiveCapacity({
      cores: opts.liveCores ?? os.availableParallelism() * 0.85,
      ...(opts.liveConcurrency !== undefined ? { fixed: opts.liveConcurrency } : {}),
    });
    for (const route of routes) {
      const queue = queueName('vod', route);
      const vod = new Worker<VodJobData, VodJobResult>(
        queue,
        (job, token, signal) =>
          this.#track(job, 'vod', queue, () =>
            this.#guard(job, token, signal, (abort) =>
              runVodJob(job, abort, {
                ffmpegPath: opts.ffmpegPath,
                hwaccel: opts.hwaccel,
                capabilities: opts.capabilities,
                storage: opts.storage,
                log: this.#jobLog(job.id, { assetId: job.data.assetId }),
              }),
            ),
          ),
        {
          connection: this.#connection,
          prefix: opts.prefix,
          concurrency: opts.concurrency,
          lockDuration: VOD_LOCK_MS,
          stalledInterval: VOD_STALLED_INTERVAL_MS,
          maxStalledCount: MAX_STALLED_COUNT,
          name: this.id,
        },
      );
      vod.on('error', (err) => this.#workerError(err, queue));
      vod.on('failed', (job, err) => {
        log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'job failed');
        // BullMQ sets finishedOn only when no attempt is left (or the error was
        // unrecoverable: a bad input, a cancel): then nothing will read the upload again.
        if (job?.finishedOn) void deleteUpload(job.data.input);
      });
      vod.on('completed', (job) => log.info({ jobId: job.id }, 'job completed'));
      this.#vod.push(vod);
    }

    const livePackagers = opts.livePackagers;
    if (livePackagers) {
      for (const route of routes) {
        const queue = queueName('live', route);
        const live: Worker<LiveJobData, LiveJobResult> = new Worker<LiveJobData, LiveJobResult>(
          queue,
          async (job, token, signal) => {
            // Full: back to the queue for a second, where this or another worker takes it
            // once there is room (GET /api/streams shows it waiting for a worker).
            if (!this.#liveCapacity.admits() && token) {
              await job.moveToDelayed(Date.now() + LIVE_ADMIT_RETRY_MS, token);
              throw new DelayedError();
            }
            const id = job.id ?? '';
            // Counted at the preset's full ladder until the job planned it for its source.
            this.#liveCost(id, streamCores(job.data.preset, 'x264'));
            try {
              return await this.#track(job, 'live', queue, () =>
                this.#guard(job, token, signal, (abort) =>
                  runLiveJob(job, abort, {
                    ffmpegPath: opts.ffmpegPath,
                    hwaccel: opts.hwaccel,
                    capabilities: opts.capabilities,
                    packagers: livePackagers,
                    // Bounded: a paused Redis must not hold up a run (it keeps the data it has).
                    refresh: async (): Promise<LiveJobData | null> =>
                      (await withTimeout(Job.fromId<LiveJobData>(live, id), 2000, 'live job refresh'))
                        ?.data ?? null,
                    onCost: (cores) => this.#liveCost(id, cores),
                    log: this.#jobLog(job.id, { streamId: job.data.streamId }),
                    ...(opts.liveTiming ? { timing: opts.liveTiming } : {}),
                  }),
                ),
              );
            } finally {
              this.#liveCost(id, null);
            }
          },
          {
            connection: this.#connection,
            prefix: opts.prefix,
            concurrency: this.#liveCapacity.limit,
            lockDuration: LIVE_LOCK_MS,
            stalledInterval: LIVE_STALLED_INTERVAL_MS,
            maxStalledCount: LIVE_MAX_STALLED_COUNT,
            name: this.id,
          },
        );
        live.on('error', (err) => this.#workerError(err, queue));
        live.on('failed', (job, err) =>
          log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'live job failed'),
        );
        live.on('completed', (job) => log.info({ jobId: job.id }, 'live job completed'));
        // Another worker may hold the job now: stop feeding its packager from here.
        live.on('lockRenewalFailed', (ids) => {
          for (const id of ids)
            if (live.cancelJob(id, LOCK_LOST)) log.warn({ jobId: id }, 'live job lock lost');
        });
        this.#live.push(live);
      }
    } else {
      log.info('no live packager given: this worker takes VOD jobs only');
    }

    this.#subscriber = workerRedis(opts.redisUrl, `whipcast-worker-sub-${process.pid}`);
    this.#subscriber.on('error', () => undefined);
    void this.#subscriber.subscribe(cancelChannel(opts.prefix)).catch(() => undefined);
    this.#subscriber.on('message', (_channel: string, jobId: string) => {
      const found = [...this.#vod, ...this.#live].some((w) => w.cancelJob(jobId, CANCELLED_REASON));
      if (found) log.info({ jobId }, 'cancel requested');
    });

    this.queues = [...this.#vod, ...this.#live].map((w) => w.name);
    this.#registry = new WorkerRegistry({
      connection: this.#connection,
      prefix: opts.prefix,
      info: {
        id: this.id,
        hostname: os.hostname(),
        pid: process.pid,
        families: opts.capabilities.families.filter(
          (f) => f === 'x264' || (routes as readonly string[]).includes(f),
        ),
        queues: this.queues,
        concurrency: opts.concurrency,
        startedAt: new Date().toISOString(),
      },
      jobs: () => [...this.#running.values()],
      load: () => ({ load1: os.loadavg()[0] ?? 0, cpus: os.availableParallelism() }),
      log,
    });
    this.#registry.start();
    log.info(
      { families: opts.capabilities.families, queues: this.queues, concurrency: opts.concurrency },
      'worker started',
    );
  }

  /**
   * Runs a job as one of this worker's running jobs: the registry lists it, and the job's
   * data records which worker runs it with which encoder (a fallback from preferred
   * hardware shows in GET /api/jobs/{id} while it runs).
   */
  async #track<R>(job: Job, kind: QueueKind, queue: string, run: () => Promise<R>): Promise<R> {
    const id = job.id ?? '';
    this.#running.set(id, { id, kind, queue, startedAt: new Date().toISOString() });
    try {
      const data = job.data as VodJobData | LiveJobData;
      const record = jobRunRecord(data.preset, { ...this.#opts, workerId: this.id });
      if (record) await job.updateData({ ...data, run: record }).catch(() => undefined);
      return await run();
    } finally {
      this.#running.delete(id);
    }
  }

  /** A live stream's estimated cost changed (null: it stopped here). */
  #liveCost(jobId: string, cores: number | null): void {
    if (cores === null) this.#liveCapacity.delete(jobId);
    else this.#liveCapacity.set(jobId, cores);
  }

  /** A BullMQ worker's error: an unreachable Redis is the watch's to say (once), anything else is logged. */
  #workerError(err: Error, queue: string): void {
    const line = { err: errorMessage(err), queue, role: 'worker', workerId: this.id };
    if (isConnectionError(err) || this.#redisWatch.down !== null) this.#opts.log.debug(line, 'worker error');
    else if (this.#redisWatch.recentlyDown(LOCK_OUTAGE_MS) && LOCK_ERROR.test(line.err))
      // Its locks lapsed while Redis was away: the job runs anew (logged as a lost lock).
      this.#opts.log.warn(line, 'job lock lapsed while Redis was away');
    else this.#opts.log.error(line, 'worker error');
  }

  #jobLog(jobId: string | undefined, ids: Record<string, string>): Logger {
    return this.#opts.log.child({ jobId, ...ids });
  }

  /**
   * Runs a job with an abort signal of its own and maps how it ended for BullMQ: shutdown
   * hands it back to the queue, cancel and unfixable errors fail it without retry.
   */
  async #guard<R>(
    job: Job,
    token: string | undefined,
    signal: AbortSignal | undefined,
    run: (signal: AbortSignal) => Promise<R>,
  ): Promise<R> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await run(controller.signal);
    } catch (e) {
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && isShutdown(reason) && token) {
        // Hand the job back so another worker starts it at once instead of after a stall.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (controller.signal.aborted && reason === CANCELLED_REASON)
        throw new UnrecoverableError(CANCELLED_REASON);
      if (e instanceof AppError && UNRECOVERABLE.has(e.code)) throw new UnrecoverableError(e.message);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops taking jobs, hands running ones back to the queue, and ends every ffmpeg. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const workers = [...this.#vod, ...this.#live];
      for (const w of workers) w.cancelAllJobs(SHUTDOWN_REASON);
      // BullMQ's graceful close waits on Redis forever; with Redis gone, force it.
      const force = this.#connection.status !== 'ready';
      this.#redisWatch.close();
      const results = await Promise.allSettled([
        ...workers.map((w) => withTimeout(w.close(force), 10_000, `worker close (${w.name})`)),
        closeRedis(this.#subscriber),
        this.#registry.close(),
      ]);
      results.push(...(await Promise.allSettled([closeRedis(this.#connection)])));
      for (const r of results) {
        if (r.status === 'rejected') this.#opts.log.warn({ err: errorMessage(r.reason) }, 'worker close');
      }
    })();
    return this.#closing;
  }
}

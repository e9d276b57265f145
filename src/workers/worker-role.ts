import os from 'node:os';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Capabilities } from '../core/capabilities.js';
import type { HwaccelSetting } from '../core/config.js';
import { AppError, errorMessage } from '../core/errors.js';
import { CANCELLED_REASON, type VodJobData, type VodJobResult } from '../core/jobs.js';
import type { Logger } from '../core/log.js';
import { closeRedis, withTimeout, workerRedis } from '../core/redis.js';
import type { Storage } from '../packager/storage/storage.js';
import {
  cancelChannel,
  MAX_STALLED_COUNT,
  QUEUE_NAMES,
  VOD_LOCK_MS,
  VOD_STALLED_INTERVAL_MS,
} from './queues.js';
import { runVodJob } from './vod-job.js';

export interface WorkerRoleOptions {
  redisUrl: string;
  prefix: string;
  ffmpegPath: string;
  hwaccel: HwaccelSetting;
  capabilities: Capabilities;
  storage: Storage;
  concurrency: number;
  log: Logger;
}

/** Reason given to the abort signal when this process shuts down (the job goes back to the queue). */
const SHUTDOWN = 'worker shutting down';

/** Codes that no retry can fix: fail the job at once with the reason. */
const UNRECOVERABLE = new Set(['hardware_unavailable', 'validation_failed', 'bad_request', 'not_found']);

/**
 * The worker role: takes transcode jobs from BullMQ, one ffmpeg each, and packages
 * the output. Any number of these run against one Redis, in any process.
 */
export class WorkerRole {
  readonly id = `${os.hostname()}:${process.pid}`;
  readonly #opts: WorkerRoleOptions;
  readonly #vod: Worker<VodJobData, VodJobResult>;
  readonly #subscriber: Redis;
  /** BullMQ never closes a connection it was handed, so this role does. */
  readonly #connection: Redis;
  #closing: Promise<void> | null = null;

  constructor(opts: WorkerRoleOptions) {
    this.#opts = opts;
    const log = opts.log.child({ role: 'worker', workerId: this.id });
    this.#connection = workerRedis(opts.redisUrl, `whipcast-worker-${process.pid}`);
    this.#connection.on('error', () => undefined);
    this.#vod = new Worker<VodJobData, VodJobResult>(
      QUEUE_NAMES.vod,
      (job, token, signal) => this.#process(job, token, signal),
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
    this.#vod.on('error', (err) => log.error({ err: errorMessage(err) }, 'worker error'));
    this.#vod.on('failed', (job, err) =>
      log.warn({ jobId: job?.id, err: err.message, attempts: job?.attemptsMade }, 'job failed'),
    );
    this.#vod.on('completed', (job) => log.info({ jobId: job.id }, 'job completed'));

    this.#subscriber = workerRedis(opts.redisUrl, `whipcast-worker-sub-${process.pid}`);
    this.#subscriber.on('error', () => undefined);
    void this.#subscriber.subscribe(cancelChannel(opts.prefix)).catch(() => undefined);
    this.#subscriber.on('message', (_channel: string, jobId: string) => {
      if (this.#vod.cancelJob(jobId, CANCELLED_REASON)) log.info({ jobId }, 'cancel requested');
    });
    log.info({ families: opts.capabilities.families, concurrency: opts.concurrency }, 'worker started');
  }

  async #process(job: Job<VodJobData, VodJobResult>, token: string | undefined, signal?: AbortSignal) {
    const log = this.#opts.log.child({ jobId: job.id, assetId: job.data.assetId });
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await runVodJob(job, controller.signal, {
        ffmpegPath: this.#opts.ffmpegPath,
        hwaccel: this.#opts.hwaccel,
        capabilities: this.#opts.capabilities,
        storage: this.#opts.storage,
        log,
      });
    } catch (e) {
      const reason: unknown = controller.signal.reason;
      if (controller.signal.aborted && reason === SHUTDOWN && token) {
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
      this.#vod.cancelAllJobs(SHUTDOWN);
      // BullMQ's graceful close waits on Redis forever; with Redis gone, force it.
      const force = this.#connection.status !== 'ready';
      const results = await Promise.allSettled([
        withTimeout(this.#vod.close(force), 10_000, 'worker close'),
        closeRedis(this.#subscriber),
      ]);
      results.push(...(await Promise.allSettled([closeRedis(this.#connection)])));
      for (const r of results) {
        if (r.status === 'rejected') this.#opts.log.warn({ err: errorMessage(r.reason) }, 'worker close');
      }
    })();
    return this.#closing;
  }
}

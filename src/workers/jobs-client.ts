import { randomBytes } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError, errorMessage } from '../core/errors.js';
import { isStreamId } from '../core/ids.js';
import {
  CANCELLED_REASON,
  type LiveJobData,
  type LiveJobResult,
  type JobProgress,
  type JobsApi,
  type JobState,
  type JobView,
  type QueueKind,
  type VodJobData,
  type VodJobResult,
  type VodRequest,
} from '../core/jobs.js';
import type { Preset } from '../core/preset.js';
import { withTimeout } from '../core/redis.js';
import { cancelChannel, cancelledKey, LIVE_ATTEMPTS, QUEUE_NAMES } from './queues.js';

const REDIS_DEADLINE_MS = 1000;

export interface JobsClientOptions {
  /** A fail-fast connection (apiRedis). */
  connection: Redis;
  prefix: string;
  publicUrl: string;
  defaultPresetId: string;
  resolvePreset: (id: string) => Promise<Preset>;
}

/** The API's handle on the queues: enqueue, inspect, cancel. Holds no worker. */
export class JobsClient implements JobsApi {
  readonly #opts: JobsClientOptions;
  readonly #queues: Record<QueueKind, Queue>;
  #closing: Promise<void> | null = null;

  constructor(opts: JobsClientOptions) {
    this.#opts = opts;
    const q = (name: string) => new Queue(name, { connection: opts.connection, prefix: opts.prefix });
    this.#queues = { vod: q(QUEUE_NAMES.vod), live: q(QUEUE_NAMES.live) };
    for (const queue of Object.values(this.#queues)) queue.on('error', () => undefined);
  }

  /** Every Redis call from an HTTP request goes through here: down or slow Redis is a 503. */
  async #redis<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(fn(), REDIS_DEADLINE_MS, what);
    } catch (e) {
      if (e instanceof AppError) throw e;
      throw new AppError('unavailable', `the job queue is unavailable (${what}: ${errorMessage(e)})`, {
        cause: e,
      });
    }
  }

  async enqueueVod(req: VodRequest): Promise<JobView> {
    const assetId = req.id ?? `vod-${randomBytes(6).toString('hex')}`;
    if (!isStreamId(assetId)) {
      throw new AppError('validation_failed', 'id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', {
        field: 'id',
      });
    }
    const presetId = req.presetId ?? this.#opts.defaultPresetId;
    let preset: Preset;
    try {
      preset = await this.#opts.resolvePreset(presetId);
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') {
        throw new AppError('validation_failed', `no preset ${presetId}`, { field: 'presetId' });
      }
      throw e;
    }
    const data: VodJobData = {
      kind: 'vod',
      assetId,
      presetId,
      preset,
      input: req.input,
      submittedAt: new Date().toISOString(),
    };
    const job = await this.#redis('enqueue', async () => {
      if (await this.#findJob(assetId)) {
        throw new AppError('conflict', `a job with id ${assetId} already exists`, { field: 'id' });
      }
      return this.#queues.vod.add('vod', data, {
        jobId: assetId,
        attempts: 3,
        backoff: { type: 'exponential', delay: 2000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      });
    });
    return this.#view(job, 'vod', 'waiting');
  }

  async enqueueLive(data: LiveJobData): Promise<JobView> {
    const id = data.streamId;
    if (!isStreamId(id)) {
      throw new AppError('validation_failed', 'stream id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', {
        field: 'streamId',
      });
    }
    return this.#redis('enqueue live', async () => {
      if (await this.#queues.vod.getJob(id)) {
        throw new AppError('conflict', `a VOD asset already uses the id ${id}`, { field: 'streamId' });
      }
      const existing = await this.#queues.live.getJob(id);
      if (existing) {
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed') return this.#view(existing, 'live');
        // The stream went live again: its old job's record gives way to the new one.
        await existing.remove();
      }
      await this.#opts.connection.hdel(cancelledKey(this.#opts.prefix), id);
      // A live job is retried once (a fresh attempt continues the playlists); stalls are
      // bounded by the worker's maxStalledCount. Never an endless loop of attempts.
      const job = await this.#queues.live.add('live', data, {
        jobId: id,
        attempts: LIVE_ATTEMPTS,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      });
      return this.#view(job, 'live', 'waiting');
    });
  }

  async list(): Promise<JobView[]> {
    return this.#redis('list', async () => {
      const views: JobView[] = [];
      for (const kind of ['live', 'vod'] as const) {
        const jobs = await this.#queues[kind].getJobs(
          ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'],
          0,
          199,
        );
        for (const j of jobs) if (j) views.push(await this.#view(j, kind));
      }
      for (const v of await this.#cancelledViews()) views.push(v);
      return views.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    });
  }

  async get(id: string): Promise<JobView> {
    if (!isStreamId(id)) throw new AppError('not_found', `no job ${id}`);
    return this.#redis('get', async () => {
      const found = await this.#findJob(id);
      if (found) return this.#view(found.job, found.kind);
      const tomb = await this.#opts.connection.hget(cancelledKey(this.#opts.prefix), id);
      if (tomb) return JSON.parse(tomb) as JobView;
      throw new AppError('not_found', `no job ${id}`);
    });
  }

  async cancel(id: string): Promise<JobView> {
    if (!isStreamId(id)) throw new AppError('not_found', `no job ${id}`);
    return this.#redis('cancel', async () => {
      const found = await this.#findJob(id);
      if (!found) throw new AppError('not_found', `no job ${id}`);
      const view = await this.#view(found.job, found.kind);
      if (view.state === 'completed' || view.state === 'failed' || view.state === 'cancelled') {
        throw new AppError(
          'conflict',
          `job ${id} has already ${view.state === 'completed' ? 'completed' : 'ended'}`,
        );
      }
      if (view.state === 'active') {
        // The worker holding the job aborts its ffmpeg and fails the job with CANCELLED_REASON.
        await this.#opts.connection.publish(cancelChannel(this.#opts.prefix), id);
        return { ...view, state: 'active' as const };
      }
      await found.job.remove();
      const tomb: JobView = { ...view, state: 'cancelled', finishedAt: new Date().toISOString() };
      await this.#opts.connection.hset(cancelledKey(this.#opts.prefix), id, JSON.stringify(tomb));
      return tomb;
    });
  }

  async counts(): Promise<Record<QueueKind, Record<string, number>>> {
    return this.#redis('counts', async () => ({
      vod: await this.#queues.vod.getJobCounts(),
      live: await this.#queues.live.getJobCounts(),
    }));
  }

  async ping(): Promise<boolean> {
    try {
      return (await withTimeout(this.#opts.connection.ping(), REDIS_DEADLINE_MS, 'ping')) === 'PONG';
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled(Object.values(this.#queues).map((q) => q.close())).then(
      () => undefined,
    );
    return this.#closing;
  }

  async #findJob(id: string): Promise<{ job: Job; kind: QueueKind } | null> {
    for (const kind of ['vod', 'live'] as const) {
      const job = await this.#queues[kind].getJob(id);
      if (job) return { job, kind };
    }
    return null;
  }

  async #cancelledViews(): Promise<JobView[]> {
    const all = await this.#opts.connection.hvals(cancelledKey(this.#opts.prefix));
    return all.map((s) => JSON.parse(s) as JobView);
  }

  async #view(job: Job, kind: QueueKind, known?: JobState): Promise<JobView> {
    const data = job.data as VodJobData | LiveJobData;
    const assetId = data.kind === 'live' ? data.streamId : data.assetId;
    const raw = known ?? ((await job.getState()) as string);
    let state: JobState = raw === 'prioritized' || raw === 'waiting-children' ? 'waiting' : (raw as JobState);
    if (!['waiting', 'active', 'completed', 'failed', 'delayed'].includes(state)) state = 'unknown';
    if (state === 'failed' && job.failedReason === CANCELLED_REASON) state = 'cancelled';
    const progress =
      typeof job.progress === 'object' && job.progress !== null
        ? (job.progress as unknown as JobProgress)
        : null;
    const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
    return {
      id: job.id ?? assetId,
      queue: kind,
      state,
      assetId,
      presetId: data.presetId,
      input: data.kind === 'live' ? `live:${data.streamId}` : (data.input?.label ?? ''),
      progress,
      attempts: job.attemptsMade,
      createdAt: new Date(job.timestamp).toISOString(),
      startedAt: iso(job.processedOn),
      finishedAt: iso(job.finishedOn),
      failedReason: job.failedReason || null,
      result: (job.returnvalue as VodJobResult | LiveJobResult | null) ?? null,
      playlistUrl: `${this.#opts.publicUrl}/hls/${assetId}/index.m3u8`,
    };
  }
}

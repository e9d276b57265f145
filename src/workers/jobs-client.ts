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
  type JobState,
  type JobView,
  type QueueKind,
  type VodJobData,
  type VodJobResult,
} from '../core/jobs.js';
import type { JobsApi, VodRequest } from './jobs-api.js';
import type { Preset } from '../core/preset.js';
import { withTimeout } from '../core/redis.js';
import { deleteUpload } from './uploads.js';
import type { WorkersApi } from './worker-registry.js';
import {
  allQueueNames,
  cancelChannel,
  cancelledKey,
  jobQueueName,
  LIVE_ATTEMPTS,
  presetRoute,
  QUEUE_KINDS,
} from './queues.js';

const REDIS_DEADLINE_MS = 1000;

/** Every state in which a job may still run (and read its input). */
const UNFINISHED = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'] as const;

export interface JobsClientOptions {
  /** A fail-fast connection (apiRedis). */
  connection: Redis;
  prefix: string;
  /** Base of the playlist URLs job views show (PUBLIC_URL, or where the API listens). */
  publicUrl: () => string;
  defaultPresetId: string;
  resolvePreset: (id: string) => Promise<Preset>;
  /**
   * The worker registry: a file job whose preset requires hardware that no running worker
   * has is refused (422) instead of waiting forever. Absent: not checked.
   */
  workers?: WorkersApi;
}

interface KnownQueue {
  kind: QueueKind;
  queue: Queue;
}

/** A job found by id, with the queue it sits in. */
interface Found {
  job: Job;
  kind: QueueKind;
  name: string;
}

/**
 * The API's handle on the queues: enqueue, inspect, cancel. Holds no worker. A job goes
 * to its kind's generic queue, or to a family queue when its preset requires hardware
 * (queues.ts); it is found by id in any of them, since ids are unique across all.
 */
export class JobsClient implements JobsApi {
  readonly #opts: JobsClientOptions;
  /** Every queue by name: the generic ones and each family queue of both kinds. */
  readonly #queues = new Map<string, KnownQueue>();
  #closing: Promise<void> | null = null;

  constructor(opts: JobsClientOptions) {
    this.#opts = opts;
    for (const kind of QUEUE_KINDS) {
      for (const name of allQueueNames(kind)) {
        const queue = new Queue(name, { connection: opts.connection, prefix: opts.prefix });
        queue.on('error', () => undefined);
        this.#queues.set(name, { kind, queue });
      }
    }
  }

  #queue(name: string): Queue {
    const known = this.#queues.get(name);
    if (!known) throw new Error(`no queue ${name}`);
    return known.queue;
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
    const queueName = jobQueueName(preset, 'vod');
    await this.#checkWorkers(preset, queueName);
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
      return this.#queue(queueName).add('vod', data, {
        jobId: assetId,
        attempts: 3,
        backoff: { type: 'exponential', delay: 2000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      });
    });
    return this.#view(job, 'vod', queueName, 'waiting');
  }

  /** A file job that requires hardware no running worker consumes would wait forever: 422 now. */
  async #checkWorkers(preset: Preset, queueName: string): Promise<void> {
    const workers = this.#opts.workers;
    if (!workers || presetRoute(preset) === 'any') return;
    const list = await workers.list();
    if (list.some((w) => w.queues.includes(queueName))) return;
    const family = preset.hardware.family ?? 'a hardware encoder';
    throw new AppError(
      'hardware_unavailable',
      `preset ${preset.id} requires ${family}, and no running worker has proved it (GET /api/workers)`,
      { field: 'presetId' },
    );
  }

  async enqueueLive(data: LiveJobData): Promise<JobView> {
    const id = data.streamId;
    if (!isStreamId(id)) {
      throw new AppError('validation_failed', 'stream id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', {
        field: 'streamId',
      });
    }
    const queueName = jobQueueName(data.preset, 'live');
    return this.#redis('enqueue live', async () => {
      const found = await this.#findAll(id);
      if (found.some((f) => f.kind === 'vod')) {
        throw new AppError('conflict', `a VOD asset already uses the id ${id}`, { field: 'streamId' });
      }
      // The stream's job may sit in another live queue than this preset's (it was queued
      // with another preset): a running or waiting one is answered wherever it is.
      for (const existing of found) {
        const state = await existing.job.getState();
        if (state !== 'completed' && state !== 'failed') {
          const was = existing.job.data as LiveJobData;
          if (was.presetId !== data.presetId) {
            // A re-publish with another preset: the job takes it at its next session.
            await existing.job.updateData({ ...was, presetId: data.presetId, preset: data.preset });
          }
          return this.#view(existing.job, 'live', existing.name, state as JobState);
        }
      }
      // The stream went live again: its old jobs' records give way to the new one.
      for (const existing of found) await existing.job.remove();
      await this.#opts.connection.hdel(cancelledKey(this.#opts.prefix), id);
      // A live job is retried once (a fresh attempt continues the playlists); stalls are
      // bounded by the worker's maxStalledCount. Never an endless loop of attempts.
      const job = await this.#queue(queueName).add('live', data, {
        jobId: id,
        attempts: LIVE_ATTEMPTS,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      });
      return this.#view(job, 'live', queueName, 'waiting');
    });
  }

  async withdrawLive(streamId: string): Promise<boolean> {
    return this.#redis('withdraw live', async () => {
      for (const existing of await this.#findAll(streamId)) {
        if (existing.kind !== 'live') continue;
        const state = await existing.job.getState();
        if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') continue;
        // A worker taking it this very moment holds its lock: remove() then fails, and the
        // job, finding the stream ended, ends its playlists as usual.
        try {
          await existing.job.remove();
          return true;
        } catch {
          return false;
        }
      }
      return false;
    });
  }

  async list(): Promise<JobView[]> {
    return this.#redis('list', async () => {
      const views: JobView[] = [];
      for (const [name, { kind, queue }] of this.#queues) {
        const jobs = await queue.getJobs(
          ['active', 'waiting', 'delayed', 'prioritized', 'completed', 'failed'],
          0,
          199,
        );
        for (const j of jobs) if (j) views.push(await this.#view(j, kind, name));
      }
      for (const v of await this.#cancelledViews()) views.push(v);
      return views.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    });
  }

  async get(id: string): Promise<JobView> {
    if (!isStreamId(id)) throw new AppError('not_found', `no job ${id}`);
    return this.#redis('get', async () => {
      const found = await this.#findJob(id);
      if (found) return this.#view(found.job, found.kind, found.name);
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
      const view = await this.#view(found.job, found.kind, found.name);
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
      // A queued job never reached a worker: its upload is ours to delete here.
      const data = found.job.data as VodJobData | LiveJobData;
      if (data.kind === 'vod') await deleteUpload(data.input);
      const tomb: JobView = { ...view, state: 'cancelled', finishedAt: new Date().toISOString() };
      await this.#opts.connection.hset(cancelledKey(this.#opts.prefix), id, JSON.stringify(tomb));
      return tomb;
    });
  }

  async uploadsInUse(): Promise<Set<string>> {
    return this.#redis('uploads in use', async () => {
      const paths = new Set<string>();
      for (const { kind, queue } of this.#queues.values()) {
        if (kind !== 'vod') continue;
        const jobs = await queue.getJobs([...UNFINISHED], 0, -1);
        for (const j of jobs) {
          const input = (j?.data as VodJobData | undefined)?.input;
          if (input?.deleteAfter) paths.add(input.path);
        }
      }
      return paths;
    });
  }

  async counts(): Promise<Record<string, Record<string, number>>> {
    return this.#redis('counts', async () => {
      const counts: Record<string, Record<string, number>> = {};
      for (const [name, { queue }] of this.#queues) counts[name] = await queue.getJobCounts();
      return counts;
    });
  }

  /**
   * The origin (`http://host:port`) of the ingest process that holds a live stream's
   * publisher, from its unfinished live job's relay URL (that process's PUBLIC_URL); null
   * when there is no such job. WHEP passthrough asked of another process redirects there.
   */
  async liveIngestOrigin(streamId: string): Promise<string | null> {
    if (!isStreamId(streamId)) return null;
    return this.#redis('find live job', async () => {
      for (const found of await this.#findAll(streamId)) {
        if (found.kind !== 'live' || (await found.job.isCompleted()) || (await found.job.isFailed()))
          continue;
        const data = found.job.data as LiveJobData;
        try {
          return new URL(data.relay.url).origin;
        } catch {
          return null;
        }
      }
      return null;
    });
  }

  async ping(): Promise<boolean> {
    try {
      return (await withTimeout(this.#opts.connection.ping(), REDIS_DEADLINE_MS, 'ping')) === 'PONG';
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.allSettled([...this.#queues.values()].map((q) => q.queue.close())).then(
      () => undefined,
    );
    return this.#closing;
  }

  async #findJob(id: string): Promise<Found | null> {
    return (await this.#findAll(id))[0] ?? null;
  }

  /** Every job with this id, VOD queues first (one, unless two enqueues raced across queues). */
  async #findAll(id: string): Promise<Found[]> {
    // The map holds the VOD queues first (QUEUE_KINDS order).
    const named = [...this.#queues];
    const jobs = await Promise.all(named.map(([, { queue }]) => queue.getJob(id)));
    return jobs.flatMap((job, i): Found[] => {
      const entry = named[i];
      return job && entry ? [{ job, kind: entry[1].kind, name: entry[0] }] : [];
    });
  }

  async #cancelledViews(): Promise<JobView[]> {
    const all = await this.#opts.connection.hvals(cancelledKey(this.#opts.prefix));
    return all.map((s) => JSON.parse(s) as JobView);
  }

  async #view(first: Job, kind: QueueKind, queueName: string, known?: JobState): Promise<JobView> {
    let job = first;
    const raw = known ?? ((await job.getState()) as string);
    // The job was read before its state: one that finished in between is read again, so a
    // finished state never comes with the data of before (no result, no reason).
    if ((raw === 'completed' || raw === 'failed') && !job.finishedOn) {
      job = (await this.#queue(queueName).getJob(job.id ?? '')) ?? job;
    }
    const data = job.data as VodJobData | LiveJobData;
    const assetId = data.kind === 'live' ? data.streamId : data.assetId;
    let state: JobState = raw === 'prioritized' || raw === 'waiting-children' ? 'waiting' : (raw as JobState);
    if (!['waiting', 'active', 'completed', 'failed', 'delayed'].includes(state)) state = 'unknown';
    if (state === 'failed' && job.failedReason === CANCELLED_REASON) state = 'cancelled';
    const progress =
      typeof job.progress === 'object' && job.progress !== null
        ? (job.progress as unknown as JobProgress)
        : null;
    const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);
    const run = data.run;
    return {
      id: job.id ?? assetId,
      queue: kind,
      queueName,
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
      worker: job.processedBy ?? run?.workerId ?? null,
      encoder: run
        ? {
            family: run.family,
            hwFallback: run.hwFallback,
            ...(run.reason !== undefined ? { reason: run.reason } : {}),
          }
        : null,
      playlistUrl: `${this.#opts.publicUrl()}/hls/${assetId}/index.m3u8`,
      ladder: data.plan ?? null,
      degraded: (data.kind === 'live' ? data.degraded : undefined) ?? null,
      passthrough: (data.kind === 'live' ? data.passthrough : undefined) ?? null,
    };
  }
}

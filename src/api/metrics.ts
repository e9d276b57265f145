import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { JobsApi } from '../core/jobs.js';
import type { StreamView } from '../core/streams.js';
import type { BacklogStats } from '../packager/storage/upload-queue.js';
import { LiveMetrics } from './live-metrics.js';

/** Prometheus metrics of one API process; collected from the queue at scrape time. */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly #http: Counter<'method' | 'route' | 'status'>;

  readonly live: LiveMetrics;

  /** `storageStats`: the upload backlog of this process's storage (S3), null when it has none. */
  constructor(
    jobs: JobsApi,
    streams: () => StreamView[] = () => [],
    storageStats: () => BacklogStats | null = () => null,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'whipcast_' });
    this.#http = new Counter({
      name: 'whipcast_http_requests_total',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    const redisUp = new Gauge({
      name: 'whipcast_redis_up',
      help: '1 when the queue Redis answers a PING',
      registers: [this.registry],
      async collect() {
        this.set((await jobs.ping()) ? 1 : 0);
      },
    });
    void redisUp;
    this.live = new LiveMetrics(this.registry, streams);
    this.#storageGauges(storageStats);
    new Gauge({
      name: 'whipcast_jobs',
      help: 'Transcode jobs by queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          const counts = await jobs.counts();
          for (const [queue, states] of Object.entries(counts)) {
            for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
          }
        } catch {
          // Redis down: whipcast_redis_up says so; no stale counts.
        }
      },
    });
    new Gauge({
      name: 'whipcast_ffmpeg_speed',
      help: 'Encoding speed of each running job (1 = real time), as its worker last reported',
      labelNames: ['queue', 'job'],
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const j of await jobs.list()) {
            if (j.state === 'active' && j.progress?.speed != null) {
              this.set({ queue: j.queue, job: j.id }, j.progress.speed);
            }
          }
        } catch {
          // as above
        }
      },
    });
  }

  /** whipcast_storage_*: read at scrape time; absent values (local storage) leave them unset. */
  #storageGauges(stats: () => BacklogStats | null): void {
    const gauge = (name: string, help: string, pick: (s: BacklogStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (s) this.set(pick(s));
        },
      });
    gauge('whipcast_storage_backlog_bytes', 'Bytes waiting for or in upload to S3', (s) => s.backlogBytes);
    gauge(
      'whipcast_storage_backlog_objects',
      'Objects waiting for or in upload to S3',
      (s) => s.backlogObjects,
    );
    gauge(
      'whipcast_storage_waiting_writes',
      'Writes waiting for room in the full S3 backlog',
      (s) => s.waiting,
    );
    // Totals that only grow: Prometheus counters, set from the storage's own count.
    const total = (name: string, help: string, pick: (s: BacklogStats) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = stats();
          if (!s) return;
          this.reset();
          this.inc(pick(s));
        },
      });
    total(
      'whipcast_storage_upload_failures_total',
      'S3 uploads given up on after retries',
      (s) => s.uploadFailures,
    );
    total('whipcast_storage_upload_retries_total', 'S3 upload attempts after a failure', (s) => s.retries);
  }

  /** Counts each request under its route pattern (never the raw URL: ids would explode the labels). */
  middleware(): RequestHandler {
    return (req, res, next) => {
      // Express sets req.route when a route matches, while req.baseUrl still names the
      // mount point; by 'finish' a router has restored baseUrl, so capture it then.
      let route = 'unmatched';
      let current: unknown;
      Object.defineProperty(req, 'route', {
        configurable: true,
        enumerable: true,
        get: () => current,
        set: (v: { path?: unknown } | undefined) => {
          current = v;
          if (typeof v?.path === 'string') route = `${req.baseUrl}${v.path}`;
        },
      });
      res.on('finish', () => {
        this.#http.inc({ method: req.method, route, status: String(res.statusCode) });
      });
      next();
    };
  }
}

import type { Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { JobsApi } from '../workers/index.js';
import type { StreamView } from '../core/streams.js';
import type { BacklogStats } from '../packager/index.js';
import { OriginMetrics } from '../origin/index.js';
import { registerIngestMetrics } from '../live/index.js';

/** One label set of whipcast_http_requests_total: counted per request, shown at collection. */
interface HttpCell {
  labels: { method: string; route: string; status: string };
  n: number;
  /** How much of `n` the Counter has. */
  shown: number;
}

/** Prometheus metrics of one API process; collected from the queue at scrape time. */
export class ApiMetrics {
  readonly registry = new Registry();
  /** Requests by method, route and status; fed to whipcast_http_requests_total at collection. */
  readonly #counts = new Map<string, Map<string, Map<number, HttpCell>>>();
  /** The same cells in the order they were first counted (the order /metrics lists them). */
  readonly #cells: HttpCell[] = [];

  /** Parts published and their latency, observed from the live bus. */
  readonly live: OriginMetrics;

  /** `storageStats`: the upload backlog of this process's storage (S3), null when it has none. */
  constructor(
    jobs: JobsApi,
    streams: () => StreamView[] = () => [],
    storageStats: () => BacklogStats | null = () => null,
    redisRestarts: () => number = () => 0,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'whipcast_' });
    const cells = this.#cells;
    new Counter({
      name: 'whipcast_http_requests_total',
      help: 'HTTP requests by route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
      collect() {
        for (const cell of cells) {
          if (cell.n === cell.shown) continue;
          this.inc(cell.labels, cell.n - cell.shown);
          cell.shown = cell.n;
        }
      },
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
    let restartsShown = 0;
    new Counter({
      name: 'whipcast_redis_restarts_total',
      help: 'Times the private redis-server (REDIS_URL unset) died and was restarted',
      registers: [this.registry],
      collect() {
        const n = redisRestarts();
        if (n > restartsShown) this.inc(n - restartsShown);
        restartsShown = n;
      },
    });
    registerIngestMetrics(this.registry, streams);
    this.live = new OriginMetrics(this.registry);
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
    new Gauge({
      name: 'whipcast_live_waiting_for_worker',
      help: 'Live streams whose transcode no worker has taken yet',
      registers: [this.registry],
      async collect() {
        try {
          const live = (await jobs.list()).filter((j) => j.queue === 'live');
          this.set(live.filter((j) => j.state === 'waiting' || j.state === 'delayed').length);
        } catch {
          // as above
        }
      },
    });
    new Gauge({
      name: 'whipcast_live_degraded_level',
      help: 'Adaptation steps taken by each running live transcode that fell behind real time (0: none)',
      labelNames: ['job'],
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const j of await jobs.list()) {
            if (j.queue === 'live' && j.state === 'active') this.set({ job: j.id }, j.degraded?.level ?? 0);
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

  /**
   * Counts each request under its route pattern (never the raw URL: ids would explode the
   * labels). Per request this costs a listener and three map lookups: the counts live in
   * `#counts` and reach the Counter when it is collected (a scrape), so prom-client's
   * label hashing runs per label set and scrape, not per request.
   */
  middleware(): RequestHandler {
    const count = (m: string, r: string, st: number) => this.#count(m, r, st);
    const onFinish = function (this: Response): void {
      count(this.req.method, routes.get(this.req)?.label ?? 'unmatched', this.statusCode);
    };
    return (req, res, next) => {
      trackRoute(req);
      res.on('finish', onFinish);
      next();
    };
  }

  /**
   * For requests answered outside express (the HLS fast lane): counts each under `route`,
   * as middleware() would have labelled it.
   */
  countAs(route: string): (req: IncomingMessage, res: ServerResponse) => void {
    const count = (m: string, st: number) => this.#count(m, route, st);
    const onFinish = function (this: ServerResponse): void {
      count(this.req.method ?? 'GET', this.statusCode);
    };
    return (_req, res) => void res.on('finish', onFinish);
  }

  #count(method: string, route: string, status: number): void {
    let byRoute = this.#counts.get(method);
    if (!byRoute) this.#counts.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let cell = byStatus.get(status);
    if (!cell) {
      cell = { labels: { method, route, status: String(status) }, n: 0, shown: 0 };
      byStatus.set(status, cell);
      this.#cells.push(cell);
    }
    cell.n++;
  }
}

/** Each routed request's req.route and its label (see trackRoute). */
const routes = new WeakMap<object, { route: unknown; label: string | null }>();
const tracked = new WeakSet<object>();

/**
 * Express sets req.route when a route matches, while req.baseUrl still names the mount
 * point; by 'finish' a router has restored baseUrl, so the label is taken at that
 * assignment. The accessor goes once on the request prototype (express gives every
 * request of an app the same one), and what it records goes to a WeakMap: a request
 * object gets no accessor nor property of its own (either costs microseconds per request
 * on objects express has re-prototyped).
 */
function trackRoute(req: Request): void {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (!proto || tracked.has(proto)) return;
  tracked.add(proto);
  Object.defineProperty(proto, 'route', {
    configurable: true,
    enumerable: true,
    get(this: object) {
      return routes.get(this)?.route;
    },
    set(this: Request, v: { path?: unknown } | undefined) {
      const label = typeof v?.path === 'string' ? `${this.baseUrl}${v.path}` : null;
      // The last route with a path names the request, as before a route without one.
      routes.set(this, { route: v, label: label ?? routes.get(this)?.label ?? null });
    },
  });
}

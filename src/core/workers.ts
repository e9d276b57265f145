import type { QueueKind } from './jobs.js';
import type { EncoderFamily } from './preset.js';

/** A job a worker is running, as its heartbeat reports it. */
export interface WorkerJob {
  id: string;
  kind: QueueKind;
  /** The BullMQ queue it came from, e.g. `vod` or `live-nvenc`. */
  queue: string;
  startedAt: string;
}

/**
 * One worker process as it last announced itself in Redis (GET /api/workers). Written
 * by src/workers/worker-registry.ts every few seconds with a short TTL: a worker that
 * died drops out of the list within the TTL, one that closed at once.
 */
export interface WorkerInfo {
  /** `hostname:pid`; also the BullMQ worker name (a job's `worker`). */
  id: string;
  hostname: string;
  pid: number;
  /** Encoder families its probe proved and HWACCEL allows. */
  families: EncoderFamily[];
  /** The BullMQ queues it takes jobs from. */
  queues: string[];
  /** Jobs it runs at once per queue (WORKER_CONCURRENCY). */
  concurrency: number;
  jobs: WorkerJob[];
  load: {
    /** os.loadavg()[0]. */
    load1: number;
    cpus: number;
  };
  startedAt: string;
  /** When this entry was written. */
  lastSeenAt: string;
  /** whipcast's package version. */
  version: string;
}

/** What the API needs of the worker registry (implemented in src/workers/worker-registry.ts). */
export interface WorkersApi {
  /** Live workers, by id. `unavailable` when Redis does not answer. */
  list(): Promise<WorkerInfo[]>;
}

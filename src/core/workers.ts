import { z } from 'zod';
import { QueueKindSchema, QueueNameSchema } from './jobs.js';
import { EncoderFamilySchema } from './preset.js';

/** A job a worker is running, as its heartbeat reports it. */
export const WorkerJobSchema = z.object({
  id: z.string(),
  kind: QueueKindSchema,
  queue: QueueNameSchema.describe('The BullMQ queue it came from, e.g. `vod` or `live-nvenc`.'),
  startedAt: z.iso.datetime(),
});
export type WorkerJob = z.infer<typeof WorkerJobSchema>;

/**
 * One worker process as it last announced itself in Redis (GET /api/workers). Written
 * by src/workers/worker-registry.ts every few seconds with a short TTL: a worker that
 * died drops out of the list within the TTL, one that closed at once. The type is
 * inferred from the schema, which GET /api/openapi.json is generated from.
 */
export const WorkerInfoSchema = z.object({
  // Also the BullMQ worker name (a job's `worker`).
  id: z.string().describe('`hostname:pid`.'),
  hostname: z.string(),
  pid: z.int().min(1),
  families: z.array(EncoderFamilySchema).describe('Encoder families its probe proved and HWACCEL allows.'),
  queues: z.array(QueueNameSchema).describe('The queues it takes jobs from.'),
  concurrency: z.int().min(1).describe('Jobs it runs at once, per queue (WORKER_CONCURRENCY).'),
  jobs: z.array(WorkerJobSchema),
  load: z.object({
    load1: z.number().describe('One-minute load average.'),
    cpus: z.int().min(1),
  }),
  startedAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime().describe('Its last heartbeat.'),
  version: z.string().describe("whipcast's package version."),
});
export type WorkerInfo = z.infer<typeof WorkerInfoSchema>;

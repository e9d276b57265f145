import { z } from 'zod';
import { EncoderFamilySchema, HARDWARE_FAMILIES, type HardwareFamily, type Preset } from './preset.js';

/**
 * The transcode job types that travel through BullMQ, and their public view. The view's
 * types are inferred from zod schemas, which GET /api/openapi.json is generated from.
 */
export const QUEUE_KINDS = ['vod', 'live'] as const;
export const QueueKindSchema = z.enum(QUEUE_KINDS).describe('`vod` (a file) or `live` (a stream).');
export type QueueKind = z.infer<typeof QueueKindSchema>;

/**
 * Which workers may take a job: `any` (the generic queue: the preset prefers hardware,
 * never wants it, or has no say), one hardware family the preset requires, or `hw`
 * (the preset requires hardware of any family). src/workers/queues.ts routes.
 */
export type QueueRoute = 'any' | HardwareFamily | 'hw';
export const QUEUE_ROUTES: readonly QueueRoute[] = ['any', ...HARDWARE_FAMILIES, 'hw'];

/**
 * The BullMQ queue of a kind and route: `vod`, `live`, `vod-nvenc`, `live-hw`, …
 * Built from the two enums only, so no user string ever names a queue.
 */
export function queueName(kind: QueueKind, route: QueueRoute): string {
  return route === 'any' ? kind : `${kind}-${route}`;
}

/** Every queue name of a kind, generic first. */
export function allQueueNames(kind: QueueKind): string[] {
  return QUEUE_ROUTES.map((r) => queueName(kind, r));
}

/**
 * A BullMQ queue name in a response. Its values come from the two enums above; the
 * type stays `string`, as queueName() returns (z.enum of a `string[]` infers `string`).
 */
export const QueueNameSchema = z.enum(QUEUE_KINDS.flatMap((k) => allQueueNames(k)));

export const LadderPlanViewSchema = z
  .object({
    rungs: z
      .array(
        z.object({
          name: z.string(),
          width: z.int(),
          height: z.int(),
          fps: z.number(),
          bitrateKbps: z.number(),
        }),
      )
      .describe('The rungs produced, each sized for the source (its aspect ratio, never above its size).'),
    dropped: z
      .array(z.object({ name: z.string(), reason: z.string() }))
      .describe("The preset's rungs left out, and why."),
  })
  .describe('The ladder as planned for the source.');
export type LadderPlanView = z.infer<typeof LadderPlanViewSchema>;

export const DegradedSchema = z
  .object({
    level: z.int().min(1).describe('Adaptation steps taken so far.'),
    changes: z.array(z.string()).describe('What the steps changed (a faster x264 preset, rungs left out).'),
    reason: z.string(),
    since: z.iso.datetime().describe('When the last step was taken.'),
  })
  .describe('A live transcode made lighter because it fell behind real time.');
export type Degraded = z.infer<typeof DegradedSchema>;

export const PassthroughStateSchema = z
  .object({
    active: z
      .boolean()
      .describe(
        "true: the publisher's layers are the renditions, copied (no video encode); false: the worker fell back to transcoding the top layer into the ladder.",
      ),
    reason: z
      .string()
      .optional()
      .describe('Why the layers are not passed through; set when `active` is false.'),
    since: z.iso.datetime(),
  })
  .describe('A `passthrough` preset: whether the layers are passed through now, or why not.');
export type PassthroughState = z.infer<typeof PassthroughStateSchema>;

export interface VodJobData {
  kind: 'vod';
  /** Also the job id and the HLS path: /hls/{assetId}/index.m3u8. */
  assetId: string;
  presetId: string;
  /** A snapshot: editing the preset later does not change a queued job. */
  preset: Preset;
  input: {
    /** Absolute path the API resolved (an upload it stored, or a file inside MEDIA_DIR). */
    path: string;
    /** Uploads are ours to delete once packaged; media-dir files are the user's. */
    deleteAfter: boolean;
    /** What the user called it, for display only. */
    label: string;
  };
  submittedAt: string;
  /** Written by the worker: the ladder as planned for the file, and the rungs it left out. */
  plan?: LadderPlanView;
  /** Written by the worker that runs it, when it starts. */
  run?: JobRun;
}

/** A live stream's transcode: queued when the stream goes live, job id = stream id. */
export interface LiveJobData {
  kind: 'live';
  streamId: string;
  presetId: string;
  preset: Preset;
  /**
   * Where the worker reads the stream: `GET {url}` with `Authorization: Bearer {token}`
   * answers a Matroska byte stream of the current publish session (see src/ingest/relay).
   */
  relay: { url: string; token: string };
  submittedAt: string;
  /** Written by the worker: the ladder as planned for the source, and the rungs it left out. */
  plan?: LadderPlanView;
  /** Written by the worker when the transcode fell behind and it made it lighter. */
  degraded?: Degraded;
  /** Written by the worker for a `passthrough` preset: layers passed through, or why not. */
  passthrough?: PassthroughState;
  /** Written by the worker that runs it, when it starts (again on each attempt). */
  run?: JobRun;
}

/** The encoder family a job runs on, and whether that is a fallback from preferred hardware. */
export const JobEncoderSchema = z
  .object({
    family: EncoderFamilySchema,
    hwFallback: z.boolean().describe('The preset preferred hardware this worker lacks: it runs on x264.'),
    reason: z.string().optional().describe('Why hardware was not used; set when hwFallback is.'),
  })
  .describe('What the running (or last) attempt chose, recorded as it started.');
export type JobEncoder = z.infer<typeof JobEncoderSchema>;

/** What the worker running a job records in its data as it starts: visible while it runs. */
export interface JobRun extends JobEncoder {
  /** WorkerInfo.id of the worker (`hostname:pid`). */
  workerId: string;
  startedAt: string;
}

export const JobProgressSchema = z.object({
  percent: z.number().min(0).max(100),
  fps: z.number().nullable(),
  speed: z.number().nullable().describe('Media time per wall-clock time (1 = real time).'),
  outTimeMs: z.number().describe('Media time transcoded so far, in milliseconds.'),
});
export type JobProgress = z.infer<typeof JobProgressSchema>;

export const VodJobResultSchema = z.object({
  family: EncoderFamilySchema,
  hwFallback: z.boolean().describe('The preset preferred hardware but the job ran on x264.'),
  durationMs: z.number(),
  renditions: z.array(z.string()),
});
export type VodJobResult = z.infer<typeof VodJobResultSchema>;

/** A live job completes when its stream ends; durationMs is the media time transcoded. */
export const LiveJobResultSchema = VodJobResultSchema.extend({
  runs: z
    .int()
    .min(0)
    .describe('ffmpeg runs: one per relay body (publish session, or restart after a crash).'),
});
export type LiveJobResult = z.infer<typeof LiveJobResultSchema>;

export const JobStateSchema = z.enum([
  'waiting',
  'active',
  'completed',
  'failed',
  'cancelled',
  'delayed',
  'unknown',
]);
export type JobState = z.infer<typeof JobStateSchema>;

export const JobViewSchema = z.object({
  id: z.string(),
  queue: QueueKindSchema,
  queueName: QueueNameSchema.describe(
    'The BullMQ queue: `vod`/`live`, or `{kind}-{family}` when the preset requires hardware (`-hw`: any family), which only workers that proved it consume.',
  ),
  state: JobStateSchema,
  assetId: z
    .string()
    .describe("The VOD asset id, or a live job's stream id; the output plays at /hls/{assetId}/index.m3u8."),
  presetId: z.string(),
  input: z.string().describe('What the input was called, for display.'),
  progress: JobProgressSchema.nullable(),
  attempts: z.int().min(0),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  failedReason: z.string().nullable(),
  // One flat anyOf rather than a nullable union (an anyOf in an anyOf) in the document.
  result: z.union([VodJobResultSchema, LiveJobResultSchema, z.null()]),
  worker: z
    .string()
    .nullable()
    .describe('The worker (`hostname:pid`) that runs or ran it; null before one took it.'),
  // Null before an attempt started (JobEncoder's own description says what it is).
  encoder: JobEncoderSchema.nullable(),
  playlistUrl: z.string().describe('Where the output plays once complete.'),
  ladder: LadderPlanViewSchema.nullable().describe("The worker's plan; null before it made one."),
  degraded: DegradedSchema.nullable().describe(
    'A live transcode made lighter to keep up; null when it never was.',
  ),
  passthrough: PassthroughStateSchema.nullable().describe(
    'Live jobs of a `passthrough` preset: whether the layers are passed through; null otherwise.',
  ),
});
export type JobView = z.infer<typeof JobViewSchema>;

/** Reason text BullMQ stores for a job cancelled on request; the view reports state `cancelled`. */
export const CANCELLED_REASON = 'cancelled by request';

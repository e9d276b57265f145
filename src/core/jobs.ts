import { HARDWARE_FAMILIES, type EncoderFamily, type HardwareFamily, type Preset } from './preset.js';

/** The transcode job types that travel through BullMQ, and their public view. */
export type QueueKind = 'vod' | 'live';
export const QUEUE_KINDS = ['vod', 'live'] as const satisfies readonly QueueKind[];

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
  /** Written by the worker that runs it, when it starts (again on each attempt). */
  run?: JobRun;
}

/** A ladder as planned for a source: the rungs produced, and those left out with why. */
export interface LadderPlanView {
  rungs: { name: string; width: number; height: number; fps: number; bitrateKbps: number }[];
  dropped: { name: string; reason: string }[];
}

/** The encoder family a job runs on, and whether that is a fallback from preferred hardware. */
export interface JobEncoder {
  family: EncoderFamily;
  /** True when the preset preferred hardware and runs on x264 on this worker. */
  hwFallback: boolean;
  /** Why hardware was not used; set when hwFallback is. */
  reason?: string;
}

/** What the worker running a job records in its data as it starts: visible while it runs. */
export interface JobRun extends JobEncoder {
  /** WorkerInfo.id of the worker (`hostname:pid`). */
  workerId: string;
  startedAt: string;
}

export interface JobProgress {
  percent: number;
  fps: number | null;
  speed: number | null;
  /** Media time transcoded so far. */
  outTimeMs: number;
}

export interface VodJobResult {
  family: EncoderFamily;
  /** True when the preset preferred hardware but ran on x264. */
  hwFallback: boolean;
  durationMs: number;
  renditions: string[];
}

/** A live job completes when its stream ends; durationMs is the media time transcoded. */
export interface LiveJobResult extends VodJobResult {
  /** ffmpeg runs: one per relay body (publish session, or restart after a crash). */
  runs: number;
}

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled' | 'delayed' | 'unknown';

export interface JobView {
  id: string;
  queue: QueueKind;
  /**
   * The BullMQ queue: `vod`/`live`, or `{kind}-{family}` (`vod-nvenc`, `live-hw`, …) when
   * the preset requires hardware, so that only a worker that proved it takes the job.
   */
  queueName: string;
  state: JobState;
  /** The VOD asset id, or a live job's stream id: the HLS path either way. */
  assetId: string;
  presetId: string;
  input: string;
  progress: JobProgress | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  failedReason: string | null;
  result: VodJobResult | LiveJobResult | null;
  /** The worker (WorkerInfo.id) that runs or ran it; null before one took it. */
  worker: string | null;
  /** The encoder the running (or last) attempt chose; null before one started. */
  encoder: JobEncoder | null;
  /** Where the output plays once complete. */
  playlistUrl: string;
}

export interface VodRequest {
  /** Asset id; generated when absent. */
  id?: string;
  presetId?: string;
  /** Resolved and checked by the API edge. */
  input: VodJobData['input'];
}

/** What the API needs of the queue (implemented in src/workers/jobs-client.ts). */
export interface JobsApi {
  enqueueVod(req: VodRequest): Promise<JobView>;
  /**
   * Queues a stream's live transcode, job id = stream id. Idempotent while that job is
   * waiting or running (answers it); a finished one is replaced. `conflict` when a VOD
   * asset holds the id.
   */
  enqueueLive(data: LiveJobData): Promise<JobView>;
  list(): Promise<JobView[]>;
  get(id: string): Promise<JobView>;
  cancel(id: string): Promise<JobView>;
  /** Counts by BullMQ queue name (`vod`, `live`, `vod-nvenc`, …) and state, for /metrics. */
  counts(): Promise<Record<string, Record<string, number>>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Reason text BullMQ stores for a job cancelled on request; the view reports state `cancelled`. */
export const CANCELLED_REASON = 'cancelled by request';

import type { EncoderFamily, Preset } from './preset.js';

/** The transcode job types that travel through BullMQ, and their public view. */
export type QueueKind = 'vod' | 'live';

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
  /** Counts by queue and state, for /metrics. */
  counts(): Promise<Record<QueueKind, Record<string, number>>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Reason text BullMQ stores for a job cancelled on request; the view reports state `cancelled`. */
export const CANCELLED_REASON = 'cancelled by request';

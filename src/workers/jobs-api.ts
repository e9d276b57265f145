import type { JobView, LiveJobData, VodJobData } from '../core/jobs.js';

export interface VodRequest {
  /** Asset id; generated when absent. */
  id?: string;
  presetId?: string;
  /** Resolved and checked by the API edge. */
  input: VodJobData['input'];
}

/** What the API needs of the queue (JobsClient implements it). */
export interface JobsApi {
  enqueueVod(req: VodRequest): Promise<JobView>;
  /**
   * Queues a stream's live transcode, job id = stream id. Idempotent while that job is
   * waiting or running (answers it, taking the new preset if it names another); a finished
   * one is replaced. `conflict` when a VOD asset holds the id.
   */
  enqueueLive(data: LiveJobData): Promise<JobView>;
  /** Removes a stream's live job that no worker has taken yet (its stream ended); true when it did. */
  withdrawLive(streamId: string): Promise<boolean>;
  list(): Promise<JobView[]>;
  get(id: string): Promise<JobView>;
  cancel(id: string): Promise<JobView>;
  /** The uploads (paths) that file jobs not finished yet will read; the rest are orphans. */
  uploadsInUse(): Promise<Set<string>>;
  /** Counts by BullMQ queue name (`vod`, `live`, `vod-nvenc`, …) and state, for /metrics. */
  counts(): Promise<Record<string, Record<string, number>>>;
  ping(): Promise<boolean>;
  /** The origin of the ingest process that holds a live stream's publisher (its live job's relay URL); null: no live job. */
  liveIngestOrigin?(streamId: string): Promise<string | null>;
  close(): Promise<void>;
}

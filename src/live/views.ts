import type { Degraded, JobState, JobView } from '../core/jobs.js';
import type { StreamView, WhepViewerStats } from '../core/streams.js';
import type { LiveStreams } from './streams.js';

/** What GET /api/streams needs of the live streams (src/api/routes/streams.ts). */
export interface StreamsApi {
  /** Live streams, then the most recently ended ones (up to 20), newest first. */
  list(): StreamView[];
  get(id: string): StreamView | null;
  /** The view completed with its viewers, its live job's state and its ladder. */
  withJob(view: StreamView): Promise<StreamView>;
}

/** A process without the ingest role knows no live streams. */
export const NO_STREAMS: StreamsApi = { list: () => [], get: () => null, withJob: async (v) => v };

export interface StreamViewsOptions {
  streams: LiveStreams;
  /** WHEP viewers per stream; null: no WHEP here. */
  whep: { viewers(id: string): number; stats(id: string): { sessions: WhepViewerStats[] } | null } | null;
  /** The live job of a stream (job id = stream id); null: no queue here. */
  jobs: { get(id: string): Promise<JobView> } | null;
  /** The ladder a preset names. */
  presets: {
    get(id: string): Promise<{
      preset: { ladder: { width: number; height: number; videoBitrateKbps: number; name?: string }[] };
    }>;
  } | null;
  /** A rung's name (`720p`). */
  rungName: (r: { width: number; height: number; name?: string }) => string;
  /** The playlist a stream's view links to. @defaultValue `/hls/{id}/index.m3u8` */
  playlistUrl?: (streamId: string) => string;
}

/**
 * The streams as GET /api/streams shows them: each live stream with its current
 * session's figures, joined on request with its WHEP viewers, its live job and the
 * ladder of its preset.
 */
export class StreamViews implements StreamsApi {
  readonly #o: StreamViewsOptions;

  constructor(o: StreamViewsOptions) {
    this.#o = o;
  }

  #playlistUrl(id: string): string {
    return this.#o.playlistUrl?.(id) ?? `/hls/${encodeURIComponent(id)}/index.m3u8`;
  }

  list(): StreamView[] {
    const live = this.#o.streams.live().map((s) => this.get(s.id)!);
    const ended = this.#o.streams.endedStreams().map((e) => this.get(e.id)!);
    return [...live, ...ended];
  }

  get(id: string): StreamView | null {
    const s = this.#o.streams.get(id);
    if (s) {
      const v: StreamView = {
        id,
        state: 'live',
        startedAt: new Date(s.startedAtMs).toISOString(),
        playlistUrl: this.#playlistUrl(id),
        ingest: s.source.stats(),
      };
      if (s.presetId !== undefined) v.presetId = s.presetId;
      return v;
    }
    const e = this.#o.streams.endedStream(id);
    if (!e) return null;
    const v: StreamView = {
      id,
      state: 'ended',
      startedAt: new Date(e.startedAtMs).toISOString(),
      endedAt: new Date(e.endedAtMs).toISOString(),
      playlistUrl: this.#playlistUrl(id),
    };
    if (e.presetId !== undefined) v.presetId = e.presetId;
    return v;
  }

  async withJob(view: StreamView): Promise<StreamView> {
    const { whep, jobs, presets } = this.#o;
    const v: StreamView = whep
      ? {
          ...view,
          viewers: { whep: whep.viewers(view.id), whepViewers: whep.stats(view.id)?.sessions ?? [] },
        }
      : view;
    if (!jobs) return v;
    try {
      const job = await jobs.get(v.id);
      if (job.queue !== 'live') return v;
      const withJob: StreamView = {
        ...v,
        job: { id: job.id, state: job.state },
        transcode: transcodeOf(job),
      };
      if (job.passthrough) withJob.passthrough = job.passthrough;
      if (job.ladder) {
        // What the worker planned for this source: the ladder players get, and what it left out.
        withJob.ladder = job.ladder.rungs;
        if (job.ladder.dropped.length > 0) withJob.droppedRungs = job.ladder.dropped;
        return withJob;
      }
      const preset = presets ? (await presets.get(job.presetId)).preset : null;
      if (preset) {
        withJob.ladder = preset.ladder.map((r) => ({
          name: this.#o.rungName(r),
          width: r.width,
          height: r.height,
          bitrateKbps: r.videoBitrateKbps,
        }));
      }
      return withJob;
    } catch {
      return v;
    }
  }
}

/** The transcode's state as a person reads it, from its live job. */
function transcodeOf(job: {
  state: JobState;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  failedReason: string | null;
  degraded: Degraded | null;
}): NonNullable<StreamView['transcode']> {
  switch (job.state) {
    case 'waiting':
    case 'delayed':
    case 'unknown':
      return { state: 'waiting', since: job.createdAt, reason: 'waiting for a worker' };
    case 'active':
      return job.degraded
        ? {
            state: 'degraded',
            since: job.degraded.since,
            reason: `${job.degraded.reason}: ${job.degraded.changes.join('; ')}`,
          }
        : { state: 'running', since: job.startedAt ?? job.createdAt };
    case 'completed':
      return { state: 'ended', since: job.finishedAt ?? job.createdAt };
    case 'failed':
    case 'cancelled':
      return {
        state: 'failed',
        since: job.finishedAt ?? job.createdAt,
        ...(job.failedReason ? { reason: job.failedReason } : {}),
      };
  }
}

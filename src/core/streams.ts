import type { AudioCodec, VideoCodec } from './media.js';

/** A publish session's video as ingest receives it. Rates are over the last few seconds. */
export interface VideoIngestStats {
  codec: VideoCodec;
  /** From the bitstream (SPS / key frame header); null before the first key frame. */
  width: number | null;
  height: number | null;
  /** H.264: the profile the SPS names (`High`), and its profile-level-id (`64001f`). */
  profile?: string;
  profileLevelId?: string;
  fps: number;
  bitrateKbps: number;
  packetsReceived: number;
  /** Packets that never arrived (RFC 3550 cumulative loss; retransmissions fill gaps). */
  packetsLost: number;
  /** Frames handed on, and frames dropped (broken by loss, or before a key frame). */
  frames: number;
  framesDropped: number;
  keyframes: number;
  /** Media time between the last two key frames; null until two were seen. */
  keyframeIntervalMs: number | null;
  nacksSent: number;
  plisSent: number;
  firsSent: number;
}

export interface AudioIngestStats {
  codec: AudioCodec;
  bitrateKbps: number;
  packetsReceived: number;
  packetsLost: number;
  frames: number;
}

/** The current publish session of a stream, as GET /api/streams shows it. */
export interface IngestStats {
  sessionId: string;
  /** When this session was created (ISO 8601). */
  startedAt: string;
  /** The WebRTC connection state (`new`, `connecting`, `connected`, ...). */
  connectionState: string;
  video: VideoIngestStats | null;
  audio: AudioIngestStats | null;
}

/** One rung of a live stream's ladder, as the lead's live job reports it. */
export interface StreamLadderRung {
  name: string;
  width: number;
  height: number;
  bitrateKbps: number;
}

/** What the API needs of the ingest role (live streams). */
export interface StreamView {
  id: string;
  state: 'live' | 'ended';
  /** When the stream went live (its first session), ISO 8601. */
  startedAt: string;
  /** When its last session ended without a takeover; ended streams only. */
  endedAt?: string;
  playlistUrl: string;
  /** The preset the stream went live with (`?preset=`), if the publisher named one. */
  presetId?: string;
  /** The current session's figures; absent once the stream ended. */
  ingest?: IngestStats;
  /** Filled by the composition root from the live job (ingest knows nothing of it). */
  ladder?: StreamLadderRung[];
  job?: { id: string; state: string };
  /**
   * Viewers now, by protocol, and each WHEP viewer's figures. `hls`: distinct clients that
   * loaded a playlist of the stream in the last 10 s (src/api/hls-viewers.ts; HLS has no
   * sessions), filled in by the API process that answers.
   */
  viewers?: { whep: number; whepViewers?: WhepViewerStats[]; hls?: number };
}

/** One WHEP viewer of a stream (GET /api/streams/{stream}). */
export interface WhepViewerStats {
  viewerId: string;
  /** When the viewer joined, ISO 8601. */
  since: string;
  connectionState: string;
  packetsSent: number;
  /** RTP bytes (header and payload, before SRTP) sent. */
  bytesSent: number;
  /** Dropped because the viewer's send queue was full (a slow or broken viewer). */
  packetsDropped: number;
  /** Video not sent while waiting for a key frame (join, takeover). */
  packetsBeforeKeyframe: number;
  retransmitted: number;
  /** NACKed packets not resent because they were resent less than 100 ms before. */
  resendsSkipped: number;
  nacksReceived: number;
  plisReceived: number;
  firsReceived: number;
}

export interface IngestApi {
  list(): StreamView[];
  get(id: string): StreamView | null;
}

/** The API's view: ingest's streams, each completed with its live job when asked for. */
export interface StreamsApi extends IngestApi {
  withJob(view: StreamView): Promise<StreamView>;
}

/** A process without the ingest role knows no live streams. */
export const NO_INGEST: StreamsApi = { list: () => [], get: () => null, withJob: async (v) => v };

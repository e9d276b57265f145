/** The API's answers as the console reads them (src/core/{streams,jobs,workers}.ts, presets). */

export interface VideoIngest {
  codec: string;
  width: number | null;
  height: number | null;
  profile?: string;
  fps: number;
  bitrateKbps: number;
  packetsLost: number;
  keyframeIntervalMs: number | null;
  nacksSent: number;
  plisSent: number;
}

export interface StreamView {
  id: string;
  state: 'live' | 'ended';
  startedAt: string;
  playlistUrl: string;
  presetId?: string;
  ingest?: {
    sessionId: string;
    connectionState: string;
    video: VideoIngest | null;
    audio: { codec: string; bitrateKbps: number; packetsLost: number } | null;
  };
  ladder?: { name: string; width: number; height: number; bitrateKbps: number }[];
  job?: { id: string; state: string };
  viewers?: { whep: number; hls?: number };
}

export interface JobProgress {
  percent: number;
  fps: number | null;
  speed: number | null;
  outTimeMs: number;
}

export interface JobView {
  id: string;
  queue: 'vod' | 'live';
  queueName: string;
  state: 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled' | 'delayed' | 'unknown';
  assetId: string;
  presetId: string;
  input: string;
  progress: JobProgress | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  failedReason: string | null;
  worker: string | null;
  encoder: { family: string; hwFallback: boolean; reason?: string } | null;
  playlistUrl: string;
}

export interface WorkerInfo {
  id: string;
  families: string[];
  queues: string[];
  concurrency: number;
  jobs: { id: string; kind: string; queue: string; startedAt: string }[];
  load: { load1: number; cpus: number };
  startedAt: string;
  lastSeenAt: string;
  version: string;
}

export interface Rung {
  name?: string;
  width: number;
  height: number;
  fps: number;
  videoBitrateKbps: number;
  maxrateKbps?: number;
  codec: string;
  profile?: string;
}

export interface Preset {
  id: string;
  name: string;
  description?: string;
  ladder: Rung[];
  audio: { codec: string; bitrateKbps: number; channels: number; sampleRate: number };
  gopSeconds: number;
  segmentSeconds: number;
  partSeconds: number;
  encoders: { x264: { preset: string; tune?: string } };
  hardware: { policy: string; family?: string };
}

export interface PresetEntry {
  preset: Preset;
  builtIn: boolean;
  updatedAt: string;
}

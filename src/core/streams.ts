import { z } from 'zod';
import { STREAM_ID } from './ids.js';
import { JobStateSchema, PassthroughStateSchema } from './jobs.js';
import { MEDIA_AUDIO_CODECS, MEDIA_VIDEO_CODECS } from './media.js';

/**
 * The live streams' public view (GET /api/streams). Types are inferred from the zod
 * schemas, which GET /api/openapi.json is generated from.
 */

const count = () => z.int().min(0);

/** What ingest measures of one received video stream (a session's video, or one simulcast layer). */
const videoReceiveFields = {
  width: z
    .int()
    .nullable()
    .describe(
      'From the bitstream (SPS, sequence header, key frame header); null before the first key frame.',
    ),
  height: z.int().nullable(),
  profile: z
    .string()
    .optional()
    .describe(
      'The profile the bitstream names: H.264 and H.265 SPS (`High`, `Main 10`), AV1 sequence header (`Main`).',
    ),
  profileLevelId: z.string().optional().describe("H.264: the SPS's profile-level-id (`64001f`)."),
  level: z.string().optional().describe('The level from the bitstream (`3.1`; AV1 `4.0`).'),
  tier: z.string().optional().describe('H.265 and AV1: the tier (`Main` or `High`).'),
  fps: z.number(),
  bitrateKbps: z.number(),
  packetsReceived: count(),
  packetsLost: count().describe(
    'Packets that never arrived (RFC 3550 cumulative loss; retransmissions fill gaps).',
  ),
  frames: count().describe('Frames handed on.'),
  framesDropped: count().describe('Frames dropped: broken by loss, or before a key frame.'),
  keyframes: count(),
  keyframeIntervalMs: z
    .number()
    .nullable()
    .describe('Media time between the last two key frames; null until two were seen.'),
  nacksSent: count(),
  plisSent: count(),
  firsSent: count(),
};

export const VideoLayerStatsSchema = z
  .object({ rid: z.string().describe("The layer's RTP stream id (a=rid)."), ...videoReceiveFields })
  .describe('One simulcast layer as ingest receives it: reordered, NACKed and measured on its own.');
export type VideoLayerStats = z.infer<typeof VideoLayerStatsSchema>;

export const VideoIngestStatsSchema = z
  .object({
    codec: z.enum(MEDIA_VIDEO_CODECS),
    ...videoReceiveFields,
    layer: z
      .string()
      .optional()
      .describe(
        'Simulcast: the rid of the layer the figures above are of: the highest being sent, which the transcode takes and WHEP viewers get by default.',
      ),
    layers: z.array(VideoLayerStatsSchema).optional().describe('Simulcast: every layer the offer announced.'),
  })
  .describe("A publish session's video as ingest receives it. Rates are over the last few seconds.");
export type VideoIngestStats = z.infer<typeof VideoIngestStatsSchema>;

export const AudioIngestStatsSchema = z.object({
  codec: z.enum(MEDIA_AUDIO_CODECS),
  bitrateKbps: z.number(),
  packetsReceived: count(),
  packetsLost: count(),
  frames: count(),
});
export type AudioIngestStats = z.infer<typeof AudioIngestStatsSchema>;

export const IngestStatsSchema = z
  .object({
    sessionId: z.string(),
    startedAt: z.iso.datetime().describe('When this session was created.'),
    connectionState: z
      .string()
      .describe('The WebRTC connection state (`new`, `connecting`, `connected`, ...).'),
    video: VideoIngestStatsSchema.nullable(),
    audio: AudioIngestStatsSchema.nullable(),
  })
  .describe('The current publish session of a stream.');
export type IngestStats = z.infer<typeof IngestStatsSchema>;

/** One rung of a live stream's ladder, as the lead's live job reports it. */
export const StreamLadderRungSchema = z.object({
  name: z.string(),
  width: z.int(),
  height: z.int(),
  fps: z.number().optional(),
  bitrateKbps: z.number(),
});
export type StreamLadderRung = z.infer<typeof StreamLadderRungSchema>;

export const WhepViewerStatsSchema = z.object({
  viewerId: z.string(),
  mode: z
    .enum(['passthrough', 'rung'])
    .describe(
      "`?mode=`: `passthrough` (the publisher's RTP; starts on a rung when that is quicker) or `rung` (the ladder, following the viewer's bandwidth).",
    ),
  sending: z
    .enum(['none', 'passthrough', 'rung'])
    .describe("What the viewer's video is now: nothing yet, the publisher's RTP, or a rung of the ladder."),
  rung: z.string().optional().describe('The rung sent now, while `sending` is `rung`.'),
  pinned: z.string().optional().describe('`?rendition=`: the rung this viewer stays on.'),
  trial: z
    .boolean()
    .optional()
    .describe(
      'True while the rung is on trial: one rung above what the estimate showed room for, kept while the estimate does not fall (an estimate that follows what arrives shows no room above it otherwise).',
    ),
  estimateBps: count()
    .optional()
    .describe(
      "The viewer's bandwidth estimate, bits/s (its REMB, capped on loss); absent until it reports either.",
    ),
  layer: z
    .string()
    .optional()
    .describe('Simulcast: the layer (rid) this viewer gets now (`?layer=`, else the highest).'),
  since: z.iso.datetime().describe('When the viewer joined.'),
  connectionState: z.string(),
  packetsSent: count(),
  bytesSent: count().describe('RTP bytes (header and payload, before SRTP) sent.'),
  packetsDropped: count().describe(
    "Dropped because the viewer's send queue was full (a slow or broken viewer).",
  ),
  packetsBeforeKeyframe: count().describe('Video not sent while waiting for a key frame (join, takeover).'),
  retransmitted: count(),
  resendsSkipped: count().describe(
    'NACKed packets not resent because they were resent less than 100 ms before.',
  ),
  nacksReceived: count(),
  plisReceived: count(),
  firsReceived: count(),
});
export type WhepViewerStats = z.infer<typeof WhepViewerStatsSchema>;

export const StreamViewSchema = z.object({
  id: z.string().regex(STREAM_ID),
  state: z.enum(['live', 'ended']),
  startedAt: z.iso.datetime().describe('When the stream went live (its first session).'),
  endedAt: z.iso
    .datetime()
    .optional()
    .describe('When its last session ended without a takeover; ended streams only.'),
  playlistUrl: z.string(),
  presetId: z
    .string()
    .optional()
    .describe('The preset the stream went live with (`?preset=`), if the publisher named one.'),
  ingest: IngestStatsSchema.optional().describe(
    "The current session's figures; absent once the stream ended.",
  ),
  // Filled from the live job (src/live/views.ts): the ladder as planned for the source.
  ladder: z
    .array(StreamLadderRungSchema)
    .optional()
    .describe(
      "The live transcode's ladder: as planned for the source once the worker has it, else the preset's.",
    ),
  droppedRungs: z
    .array(z.object({ name: z.string(), reason: z.string() }))
    .optional()
    .describe("The preset's rungs this source does not get, and why (larger than the source)."),
  job: z
    .object({ id: z.string(), state: JobStateSchema })
    .optional()
    .describe("The stream's live transcode job."),
  transcode: z
    .object({
      state: z
        .enum(['waiting', 'running', 'degraded', 'ended', 'failed'])
        .describe('`waiting`: for a worker to take it; `degraded`: made lighter to keep up.'),
      since: z.iso.datetime(),
      reason: z.string().optional(),
    })
    .optional()
    .describe("The live transcode's state, from its job."),
  passthrough: PassthroughStateSchema.optional().describe(
    "A `passthrough` preset's stream: its layers are the renditions (`active`), or why the worker transcodes the top layer instead.",
  ),
  viewers: z
    .object({
      whep: count(),
      hls: count()
        .optional()
        .describe(
          'Distinct clients (address and User-Agent) that loaded a playlist of the stream in the last 10 s, as the answering API process saw them (HLS has no sessions).',
        ),
      whepViewers: z
        .array(WhepViewerStatsSchema)
        .optional()
        .describe(
          'Each WHEP viewer: packets and bytes sent, dropped (full send queue), retransmitted, feedback received.',
        ),
    })
    .optional()
    .describe('Viewers now by protocol (HLS viewers are not sessions and not counted).'),
});
export type StreamView = z.infer<typeof StreamViewSchema>;

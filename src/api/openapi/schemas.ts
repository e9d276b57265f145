import type { z } from 'zod';
import { CapabilitiesSchema } from '../../core/capabilities.js';
import {
  JobEncoderSchema,
  JobProgressSchema,
  JobStateSchema,
  JobViewSchema,
  LiveJobResultSchema,
  QueueKindSchema,
  QueueNameSchema,
  VodJobResultSchema,
} from '../../core/jobs.js';
import { EncoderFamilySchema, PresetSchema } from '../../core/preset.js';
import { PresetEntrySchema } from '../../core/presets/types.js';
import {
  AudioIngestStatsSchema,
  IngestStatsSchema,
  StreamLadderRungSchema,
  StreamViewSchema,
  VideoIngestStatsSchema,
  WhepViewerStatsSchema,
} from '../../core/streams.js';
import { WorkerInfoSchema, WorkerJobSchema } from '../../core/workers.js';
import { ErrorBodySchema } from '../errors.js';
import { HealthSchema, ReadinessSchema } from '../routes/health.js';
import { JobListSchema } from '../routes/jobs.js';
import { PresetListSchema } from '../routes/presets.js';
import { StreamListSchema } from '../routes/streams.js';
import { VodFileRequestSchema, VodUploadSchema } from '../routes/vod.js';
import { WorkerListSchema } from '../routes/workers.js';
import { componentSchemas, inlineSchema, type Component, type JsonSchema } from './json-schema.js';

/**
 * Which zod schemas the document names in `components.schemas`. Everything a response
 * or request body holds is converted from these; a schema listed here is referenced
 * with `$ref` wherever it appears, inside other components too.
 */

/** What the API answers (zod's output side: defaults filled in, every key it writes required). */
const RESPONSES: readonly Component[] = [
  { id: 'Error', schema: ErrorBodySchema },
  { id: 'Preset', schema: PresetSchema, description: 'A stored preset, every default filled in.' },
  { id: 'PresetEntry', schema: PresetEntrySchema },
  { id: 'PresetList', schema: PresetListSchema },
  { id: 'EncoderFamily', schema: EncoderFamilySchema },
  { id: 'QueueKind', schema: QueueKindSchema },
  { id: 'QueueName', schema: QueueNameSchema },
  { id: 'JobState', schema: JobStateSchema },
  { id: 'JobProgress', schema: JobProgressSchema },
  { id: 'JobResult', schema: VodJobResultSchema },
  { id: 'LiveJobResult', schema: LiveJobResultSchema },
  { id: 'JobEncoder', schema: JobEncoderSchema },
  { id: 'Job', schema: JobViewSchema },
  { id: 'JobList', schema: JobListSchema },
  { id: 'VideoIngestStats', schema: VideoIngestStatsSchema },
  { id: 'AudioIngestStats', schema: AudioIngestStatsSchema },
  { id: 'IngestStats', schema: IngestStatsSchema },
  { id: 'StreamLadderRung', schema: StreamLadderRungSchema },
  { id: 'WhepViewerStats', schema: WhepViewerStatsSchema },
  { id: 'Stream', schema: StreamViewSchema },
  { id: 'StreamList', schema: StreamListSchema },
  { id: 'WorkerJob', schema: WorkerJobSchema },
  { id: 'Worker', schema: WorkerInfoSchema },
  { id: 'WorkerList', schema: WorkerListSchema },
  { id: 'Capabilities', schema: CapabilitiesSchema },
  { id: 'Health', schema: HealthSchema },
  { id: 'Readiness', schema: ReadinessSchema },
];

/** What clients send (zod's input side: fields with defaults may be left out). */
const REQUESTS: readonly Component[] = [
  {
    id: 'PresetInput',
    schema: PresetSchema,
    description:
      'A preset as clients send it. Fields with defaults may be left out. Unknown fields are rejected. ' +
      'Also: segmentSeconds must be a whole multiple of gopSeconds, partSeconds at most half of ' +
      'segmentSeconds, widths and heights even, rung names unique, and a rung profile must suit its codec ' +
      '(h264: baseline, main, high; hevc and av1: main).',
  },
  { id: 'VodFileRequest', schema: VodFileRequestSchema },
  { id: 'VodUpload', schema: VodUploadSchema },
];

/** `components.schemas`: both sides, converted. */
export function schemaComponents(): Record<string, JsonSchema> {
  const responses = componentSchemas(RESPONSES, 'output');
  const requests = componentSchemas(REQUESTS, 'input');
  const clash = Object.keys(requests).find((id) => id in responses);
  if (clash !== undefined) throw new Error(`component ${clash} is both a request and a response schema`);
  return { ...responses, ...requests };
}

const idOf = (list: readonly Component[], schema: z.ZodType) => list.find((c) => c.schema === schema)?.id;

/**
 * A body or parameter schema in the document: `$ref` to its component when it has one
 * on that side, else converted in place (plain strings, parameter patterns).
 */
export function schemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema {
  const id = idOf(io === 'input' ? REQUESTS : RESPONSES, schema);
  return id === undefined ? inlineSchema(schema, io) : { $ref: `#/components/schemas/${id}` };
}

/**
 * A query's parameters from its zod object: one `in: query` parameter per key, with the
 * key's description, never required when it is optional or has a default.
 */
export function queryParameters(schema: z.ZodObject): Record<string, unknown>[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const f = field as z.ZodType;
    const { description, ...s } = inlineSchema(f, 'input') as Record<string, unknown>;
    return {
      name,
      in: 'query',
      required: !f.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: s,
    };
  });
}

import { z } from 'zod';
import { CapabilitiesSchema } from '../../core/capabilities.js';
import { HealthSchema, ReadinessSchema } from '../routes/health.js';
import { WorkerListSchema } from '../routes/workers.js';
import { getOp, jsonResponse, responseRef, textResponse, type Json } from './operation.js';

/** The outline of this document, as GET /api/openapi.json promises it. */
const OpenApiOutlineSchema = z.looseObject({
  openapi: z.string().regex(/^3\.1\.\d+$/),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.looseObject({})),
  components: z.looseObject({}),
});

/** Health, readiness, metrics, this document, what ffmpeg can do, the workers. */
export function operationsPaths(): Json {
  return {
    '/healthz': {
      get: getOp('operations', 'health', 'Liveness: the process answers', {
        '200': jsonResponse('Alive.', HealthSchema),
        '503': jsonResponse(
          'The process cannot recover by itself (its private redis-server could not be restarted): restart it.',
          HealthSchema,
        ),
      }),
    },
    '/readyz': {
      get: getOp('operations', 'ready', 'Readiness: Redis answers and ffmpeg can encode', {
        '200': jsonResponse('Ready.', ReadinessSchema),
        '503': jsonResponse('Not ready; `checks` says what is missing.', ReadinessSchema),
      }),
    },
    '/metrics': {
      get: getOp('operations', 'metrics', 'Prometheus metrics', {
        '200': textResponse('Prometheus text exposition format.', 'text/plain; version=0.0.4'),
      }),
    },
    '/api/openapi.json': {
      get: getOp('operations', 'openApi', 'This document', {
        '200': jsonResponse('OpenAPI 3.1.', OpenApiOutlineSchema),
      }),
    },
    '/api/capabilities': {
      get: getOp(
        'operations',
        'capabilities',
        'What ffmpeg on this machine can do: encoders and the hardware families that work',
        { '200': jsonResponse('The probe result.', CapabilitiesSchema) },
      ),
    },
    '/api/workers': {
      get: getOp(
        'operations',
        'listWorkers',
        'Worker processes (heartbeat within the last 6 s): encoder families, queues, running jobs, load',
        {
          '200': jsonResponse('The workers.', WorkerListSchema),
          '503': responseRef('Unavailable'),
        },
      ),
    },
  };
}

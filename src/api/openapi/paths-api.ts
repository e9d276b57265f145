import { JobViewSchema } from '../../core/jobs.js';
import { PresetSchema } from '../../core/preset.js';
import { PresetEntrySchema } from '../../core/presets/types.js';
import { StreamViewSchema } from '../../core/streams.js';
import { JobListSchema } from '../routes/jobs.js';
import { PresetListSchema, PresetPageQuerySchema } from '../routes/presets.js';
import { StreamListSchema } from '../routes/streams.js';
import { VodFileRequestSchema, VodUploadSchema } from '../routes/vod.js';
import { errorResponse } from './components.js';
import {
  apiAuth,
  getOp,
  jsonContent,
  jsonResponse,
  parameterRef,
  responseRef,
  stringHeader,
  type Json,
} from './operation.js';
import { queryParameters, schemaOf } from './schemas.js';

/** The REST resources: presets, jobs (and POST /api/vod, which makes one), streams. */
export function apiPaths(): Json {
  const presetBody = { required: true, content: jsonContent(schemaOf(PresetSchema, 'input')) };
  const entry = jsonResponse('The preset.', PresetEntrySchema);
  const created = {
    ...entry,
    description: 'Created.',
    headers: { Location: stringHeader({ required: true }) },
  };
  return {
    '/api/presets': {
      get: {
        ...getOp(
          'presets',
          'listPresets',
          'List presets a page at a time: built-ins first, then user presets, each by id',
          {
            '200': jsonResponse('A page of presets; `nextCursor` asks for the next.', PresetListSchema),
            '400': responseRef('BadRequest'),
          },
        ),
        parameters: queryParameters(PresetPageQuerySchema),
      },
      post: {
        tags: ['presets'],
        operationId: 'createPreset',
        summary: 'Create a user preset',
        description:
          'Refused with 409 once MAX_USER_PRESETS user presets exist, and with 400 (`validation_failed`, ' +
          'the field naming the costliest rung) when the ladder costs more than MAX_PRESET_COST weighted ' +
          'megapixels per second.',
        security: apiAuth,
        requestBody: presetBody,
        responses: {
          '201': created,
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '409': responseRef('Conflict'),
          '413': responseRef('PayloadTooLarge'),
          '415': responseRef('UnsupportedMediaType'),
        },
      },
    },
    '/api/presets/{id}': {
      parameters: [parameterRef('PresetId')],
      get: getOp('presets', 'getPreset', 'Read a preset', { '200': entry, '404': responseRef('NotFound') }),
      put: {
        tags: ['presets'],
        operationId: 'replacePreset',
        summary: 'Replace a user preset, or create it under this id',
        description:
          'The body id must equal the path id or be left out. Built-in presets are read-only (409).',
        security: apiAuth,
        requestBody: presetBody,
        responses: {
          '200': { ...entry, description: 'Replaced.' },
          '201': created,
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '404': responseRef('NotFound'),
          '409': responseRef('Conflict'),
          '413': responseRef('PayloadTooLarge'),
          '415': responseRef('UnsupportedMediaType'),
        },
      },
      delete: {
        tags: ['presets'],
        operationId: 'deletePreset',
        summary: 'Delete a user preset',
        security: apiAuth,
        responses: {
          '204': { description: 'Deleted.' },
          '401': responseRef('Unauthorized'),
          '404': responseRef('NotFound'),
          '409': responseRef('Conflict'),
        },
      },
    },
    '/api/jobs': {
      get: getOp('jobs', 'listJobs', 'Transcode jobs and their state', {
        '200': jsonResponse('The jobs.', JobListSchema),
        '503': responseRef('Unavailable'),
      }),
    },
    '/api/jobs/{id}': {
      parameters: [parameterRef('JobId')],
      get: getOp('jobs', 'getJob', 'One job', {
        '200': jsonResponse('The job.', JobViewSchema),
        '404': responseRef('NotFound'),
        '503': responseRef('Unavailable'),
      }),
      delete: {
        tags: ['jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel a job: a queued one goes at once, a running one is stopped by its worker',
        security: apiAuth,
        responses: {
          '200': jsonResponse('Cancelled.', JobViewSchema),
          '202': jsonResponse('Cancelling: the worker stops it shortly.', JobViewSchema),
          '401': responseRef('Unauthorized'),
          '404': responseRef('NotFound'),
          '409': responseRef('Conflict'),
          '503': responseRef('Unavailable'),
        },
      },
    },
    '/api/vod': {
      post: {
        tags: ['jobs'],
        operationId: 'queueVod',
        summary:
          'Queue a file transcode into the ladder of a preset (an upload, or a file in MEDIA_DIR; never a URL)',
        security: apiAuth,
        requestBody: {
          required: true,
          content: {
            'multipart/form-data': {
              schema: schemaOf(VodUploadSchema, 'input'),
              encoding: { file: { contentType: 'application/octet-stream, video/*' } },
            },
            ...jsonContent(schemaOf(VodFileRequestSchema, 'input')),
          },
        },
        responses: {
          '202': {
            ...jsonResponse('Queued.', JobViewSchema),
            headers: { Location: stringHeader({ required: true }) },
          },
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '409': responseRef('Conflict'),
          '413': responseRef('PayloadTooLarge'),
          '415': responseRef('UnsupportedMediaType'),
          '422': errorResponse('`hardware_unavailable`: the preset requires hardware this cluster lacks.'),
          '503': responseRef('Unavailable'),
          '507': errorResponse(
            "`insufficient_storage`: the upload would leave the data directory's file system under MIN_FREE_DISK_MB free.",
          ),
        },
      },
    },
    '/api/streams': {
      get: getOp('streams', 'listStreams', 'Live streams', {
        '200': jsonResponse('The streams.', StreamListSchema),
      }),
    },
    '/api/streams/{stream}': {
      parameters: [parameterRef('StreamId')],
      get: getOp('streams', 'getStream', 'One live stream: ingest stats, ladder and job state', {
        '200': jsonResponse('The stream.', StreamViewSchema),
        '404': responseRef('NotFound'),
      }),
    },
  };
}

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import { allQueueNames, QUEUE_KINDS } from '../core/jobs.js';
import { PRESET_ID, STREAM_ID } from '../core/ids.js';
import { packageRoot } from '../core/paths.js';
import { ENCODER_FAMILIES, PresetSchema } from '../core/preset.js';
import { consoleOpenApi } from './openapi-console.js';

/**
 * The OpenAPI 3.1 description of the whole public HTTP surface (CONTRACT.md), served
 * at GET /api/openapi.json. test/integration/openapi.test.ts holds it to the routes
 * the app really registers, both ways, so the two cannot drift apart silently.
 */

type Json = Record<string, unknown>;

const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'bad_json',
  'not_found',
  'conflict',
  'read_only',
  'payload_too_large',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'unavailable',
  'hardware_unavailable',
  'ffmpeg_failed',
  'cancelled',
  'internal',
] as const satisfies readonly ErrorCode[];
// Fails to compile when src/core/errors.ts gains a code this list lacks.
const everyErrorCode: [Exclude<ErrorCode, (typeof ERROR_CODES)[number]>] extends [never] ? true : false =
  true;
void everyErrorCode;

const QUEUE_NAMES = QUEUE_KINDS.flatMap((k) => allQueueNames(k));

const JOB_STATES = ['waiting', 'active', 'completed', 'failed', 'cancelled', 'delayed', 'unknown'];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const res = (name: string) => ({ $ref: `#/components/responses/${name}` });
const par = (name: string) => ({ $ref: `#/components/parameters/${name}` });

const json = (schema: Json) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Json) => ({ description, content: json(schema) });
const text = (description: string, mediaType = 'text/plain') => ({
  description,
  content: { [mediaType]: { schema: { type: 'string' } } },
});

/** Mutating calls need API_TOKEN when one is set; `{}` lists the open (loopback) case. */
/** A read-only operation of the API: no request body, no authentication. */
const getOp = (tag: string, operationId: string, summary: string, responses: Json) => ({
  tags: [tag],
  operationId,
  summary,
  responses,
});
const apiAuth = [{ apiToken: [] }, {}];
const publishAuth = [{ publishToken: [] }, {}];

/** A zod schema as a JSON Schema 2020-12 object, the dialect OpenAPI 3.1 uses. */
function fromZod(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

const nullable = (schema: Json) => ({ anyOf: [schema, { type: 'null' }] });

function schemas(): Json {
  // POST /api/vod takes these beside the file, as JSON or as multipart fields.
  const vodOptions = {
    presetId: { type: 'string', pattern: PRESET_ID.source, description: 'Default: `default`.' },
    id: {
      type: 'string',
      pattern: STREAM_ID.source,
      description: 'Asset and job id; generated if absent.',
    },
  };
  return {
    Error: {
      type: 'object',
      required: ['error'],
      additionalProperties: false,
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          additionalProperties: false,
          properties: {
            code: { type: 'string', enum: [...ERROR_CODES] },
            message: { type: 'string', description: 'For people; names the field and what it allows.' },
            field: {
              type: 'string',
              description: 'The request field at fault as a dotted path, e.g. `ladder.0.width`.',
            },
          },
        },
      },
    },
    PresetInput: {
      ...fromZod(PresetSchema, 'input'),
      description:
        'A preset as clients send it. Fields with defaults may be left out. Unknown fields are rejected. ' +
        'Also: segmentSeconds must be a whole multiple of gopSeconds, partSeconds at most half of ' +
        'segmentSeconds, widths and heights even, rung names unique, and a rung profile must suit its codec ' +
        '(h264: baseline, main, high; hevc and av1: main).',
    },
    Preset: { ...fromZod(PresetSchema, 'output'), description: 'A stored preset, every default filled in.' },
    PresetEntry: {
      type: 'object',
      required: ['preset', 'builtIn', 'updatedAt'],
      properties: {
        preset: ref('Preset'),
        builtIn: { type: 'boolean', description: 'Shipped with whipcast; read-only.' },
        updatedAt: { type: 'string', format: 'date-time' },
      },
    },
    PresetList: {
      type: 'object',
      required: ['presets'],
      properties: { presets: { type: 'array', items: ref('PresetEntry') } },
    },
    Capabilities: {
      type: 'object',
      required: [
        'ffmpegPath',
        'ffmpegVersion',
        'encoders',
        'hwaccels',
        'filters',
        'families',
        'rejected',
        'probedAt',
      ],
      properties: {
        ffmpegPath: { type: 'string' },
        ffmpegVersion: nullable({ type: 'string' }),
        encoders: { type: 'array', items: { type: 'string' } },
        hwaccels: { type: 'array', items: { type: 'string' } },
        filters: { type: 'array', items: { type: 'string' } },
        families: {
          type: 'array',
          items: { type: 'string', enum: [...ENCODER_FAMILIES] },
          description: 'Encoder families whose test encode succeeded on this machine.',
        },
        rejected: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Why each family that did not make it failed.',
        },
        probedAt: { type: 'string', format: 'date-time' },
      },
    },
    JobProgress: {
      type: 'object',
      required: ['percent', 'fps', 'speed', 'outTimeMs'],
      properties: {
        percent: { type: 'number', minimum: 0, maximum: 100 },
        fps: nullable({ type: 'number' }),
        speed: nullable({ type: 'number' }),
        outTimeMs: { type: 'number', description: 'Media time transcoded so far, in milliseconds.' },
      },
    },
    JobResult: {
      type: 'object',
      required: ['family', 'hwFallback', 'durationMs', 'renditions'],
      properties: {
        family: { type: 'string', enum: [...ENCODER_FAMILIES] },
        hwFallback: {
          type: 'boolean',
          description: 'The preset preferred hardware but the job ran on x264.',
        },
        durationMs: { type: 'number' },
        renditions: { type: 'array', items: { type: 'string' } },
      },
    },
    Job: {
      type: 'object',
      required: [
        'id',
        'queue',
        'state',
        'assetId',
        'presetId',
        'input',
        'progress',
        'attempts',
        'createdAt',
        'startedAt',
        'finishedAt',
        'failedReason',
        'result',
        'worker',
        'encoder',
        'playlistUrl',
      ],
      properties: {
        id: { type: 'string' },
        queue: { type: 'string', enum: ['vod', 'live'] },
        queueName: {
          type: 'string',
          enum: QUEUE_NAMES,
          description:
            'The BullMQ queue: `vod`/`live`, or `{kind}-{family}` when the preset requires hardware (`-hw`: any family), which only workers that proved it consume.',
        },
        state: { type: 'string', enum: JOB_STATES },
        assetId: { type: 'string', description: 'The output plays at /hls/{assetId}/index.m3u8.' },
        presetId: { type: 'string' },
        input: { type: 'string', description: 'What the input was called, for display.' },
        progress: nullable(ref('JobProgress')),
        attempts: { type: 'integer', minimum: 0 },
        createdAt: { type: 'string', format: 'date-time' },
        startedAt: nullable({ type: 'string', format: 'date-time' }),
        finishedAt: nullable({ type: 'string', format: 'date-time' }),
        failedReason: nullable({ type: 'string' }),
        result: nullable(ref('JobResult')),
        worker: nullable({ type: 'string', description: 'The worker (`hostname:pid`) that runs or ran it.' }),
        encoder: nullable(ref('JobEncoder')),
        playlistUrl: { type: 'string' },
      },
    },
    JobEncoder: {
      type: 'object',
      required: ['family', 'hwFallback'],
      description: 'What the running (or last) attempt chose, recorded as it started.',
      properties: {
        family: { type: 'string', enum: [...ENCODER_FAMILIES] },
        hwFallback: {
          type: 'boolean',
          description: 'The preset preferred hardware this worker lacks: it runs on x264.',
        },
        reason: { type: 'string', description: 'Why hardware was not used.' },
      },
    },
    Worker: {
      type: 'object',
      required: [
        'id',
        'hostname',
        'pid',
        'families',
        'queues',
        'concurrency',
        'jobs',
        'load',
        'startedAt',
        'lastSeenAt',
        'version',
      ],
      properties: {
        id: { type: 'string', description: '`hostname:pid`.' },
        hostname: { type: 'string' },
        pid: { type: 'integer' },
        families: {
          type: 'array',
          items: { type: 'string', enum: [...ENCODER_FAMILIES] },
          description: 'Encoder families its probe proved and HWACCEL allows.',
        },
        queues: {
          type: 'array',
          items: { type: 'string', enum: QUEUE_NAMES },
          description: 'The queues it takes jobs from.',
        },
        concurrency: { type: 'integer', minimum: 1, description: 'Jobs at once, per queue.' },
        jobs: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'kind', 'queue', 'startedAt'],
            properties: {
              id: { type: 'string' },
              kind: { type: 'string', enum: ['vod', 'live'] },
              queue: { type: 'string', enum: QUEUE_NAMES },
              startedAt: { type: 'string', format: 'date-time' },
            },
          },
        },
        load: {
          type: 'object',
          required: ['load1', 'cpus'],
          properties: {
            load1: { type: 'number', description: 'One-minute load average.' },
            cpus: { type: 'integer' },
          },
        },
        startedAt: { type: 'string', format: 'date-time' },
        lastSeenAt: { type: 'string', format: 'date-time', description: 'Its last heartbeat.' },
        version: { type: 'string' },
      },
    },
    WorkerList: {
      type: 'object',
      required: ['workers'],
      properties: { workers: { type: 'array', items: ref('Worker') } },
    },
    JobList: {
      type: 'object',
      required: ['jobs'],
      properties: { jobs: { type: 'array', items: ref('Job') } },
    },
    VodFileRequest: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        name: {
          type: 'string',
          description: 'A plain file name inside the media directory (MEDIA_DIR). Never a path or a URL.',
        },
        ...vodOptions,
      },
    },
    VodUpload: {
      type: 'object',
      required: ['file'],
      properties: {
        file: {
          type: 'string',
          contentMediaType: 'application/octet-stream',
          description: 'The media file.',
        },
        ...vodOptions,
      },
    },
    Stream: {
      type: 'object',
      required: ['id', 'state', 'startedAt', 'playlistUrl'],
      properties: {
        id: { type: 'string', pattern: STREAM_ID.source },
        state: { type: 'string', enum: ['live', 'ended'] },
        startedAt: { type: 'string', format: 'date-time' },
        playlistUrl: { type: 'string' },
        viewers: {
          type: 'object',
          description: 'Viewers now by protocol (HLS viewers are not sessions and not counted).',
          properties: {
            whep: { type: 'integer', minimum: 0 },
            whepViewers: {
              type: 'array',
              description:
                'Each WHEP viewer: packets and bytes sent, dropped (full send queue), retransmitted, feedback received.',
              items: {
                type: 'object',
                properties: {
                  viewerId: { type: 'string' },
                  since: { type: 'string', format: 'date-time' },
                  connectionState: { type: 'string' },
                  ...Object.fromEntries(
                    [
                      'packetsSent',
                      'bytesSent',
                      'packetsDropped',
                      'packetsBeforeKeyframe',
                      'retransmitted',
                      'resendsSkipped',
                      'nacksReceived',
                      'plisReceived',
                      'firsReceived',
                    ].map((k) => [k, { type: 'integer', minimum: 0 }]),
                  ),
                },
              },
            },
          },
        },
      },
    },
    StreamList: {
      type: 'object',
      required: ['streams'],
      properties: { streams: { type: 'array', items: ref('Stream') } },
    },
    Health: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', const: 'ok' } },
    },
    Readiness: {
      type: 'object',
      required: ['status', 'checks'],
      properties: {
        status: { type: 'string', enum: ['ready', 'not ready', 'shutting down'] },
        checks: {
          type: 'object',
          required: ['redis', 'ffmpeg'],
          properties: {
            redis: { type: 'string', description: '`ok` or why not.' },
            ffmpeg: { type: 'string', description: '`ok` or why not.' },
          },
        },
      },
    },
  };
}

function errorResponse(description: string): Json {
  return { description, content: json(ref('Error')) };
}

function components(): Json {
  return {
    schemas: schemas(),
    responses: {
      BadRequest: errorResponse(
        'The request is invalid (`validation_failed` names the field, `bad_json`, `bad_request`); nothing changed.',
      ),
      Unauthorized: {
        ...errorResponse('API_TOKEN is set and the request did not carry it as a Bearer token.'),
        headers: { 'WWW-Authenticate': { schema: { type: 'string' } } },
      },
      NotFound: errorResponse('No such resource.'),
      Conflict: errorResponse('`conflict` (the id is taken) or `read_only` (a built-in preset).'),
      PayloadTooLarge: errorResponse('The body is larger than the limit.'),
      UnsupportedMediaType: errorResponse('The body has a content type this operation does not take.'),
      Internal: errorResponse(
        'A server-side failure; the message is generic and the server log has the cause.',
      ),
      SdpError: text('WHIP/WHEP errors are plain text.'),
    },
    parameters: {
      PresetId: {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'string', pattern: PRESET_ID.source },
      },
      JobId: {
        name: 'id',
        in: 'path',
        required: true,
        schema: { type: 'string', pattern: STREAM_ID.source },
      },
      StreamId: {
        name: 'stream',
        in: 'path',
        required: true,
        description: 'The stream key chosen by the publisher.',
        schema: { type: 'string', pattern: STREAM_ID.source },
      },
      SessionId: {
        name: 'session',
        in: 'path',
        required: true,
        description: 'From the Location header of the POST that created the session.',
        schema: { type: 'string' },
      },
      AssetId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'A live stream id or a VOD asset id (one namespace).',
        schema: { type: 'string', pattern: STREAM_ID.source },
      },
      HlsName: {
        name: 'name',
        in: 'path',
        required: true,
        description: '`index.m3u8`, a media playlist, an init segment, a segment or a part.',
        schema: { type: 'string' },
      },
    },
    securitySchemes: {
      apiToken: { type: 'http', scheme: 'bearer', description: 'API_TOKEN, when set.' },
      publishToken: { type: 'http', scheme: 'bearer', description: 'PUBLISH_TOKEN, when set.' },
    },
  };
}

/** WHIP (RFC 9725) and WHEP share one shape; `kind` says which. */
function sdpPaths(kind: 'whip' | 'whep'): Json {
  const what = kind === 'whip' ? 'publish (WHIP ingest)' : 'play (WHEP)';
  const tag = kind.toUpperCase();
  // WHEP playback is open, like the HLS it sits beside.
  const security = kind === 'whip' ? { security: publishAuth } : {};
  const icePreflight = {
    tags: [tag],
    operationId: `${kind}Options`,
    summary: `CORS preflight; lists the ICE servers for ${tag} clients`,
    parameters: [par('StreamId')],
    responses: {
      '204': {
        description: 'No content.',
        headers: {
          Link: {
            description: '`<stun:...>; rel="ice-server"`, one per ICE_SERVERS entry.',
            schema: { type: 'string' },
          },
          'Access-Control-Allow-Methods': { schema: { type: 'string' } },
        },
      },
    },
  };
  return {
    [`/${kind}/{stream}`]: {
      post: {
        tags: [tag],
        operationId: `${kind}Offer`,
        summary: `Start a session to ${what}: an SDP offer in, an SDP answer out`,
        ...security,
        parameters: [par('StreamId')],
        requestBody: { required: true, content: { 'application/sdp': { schema: { type: 'string' } } } },
        responses: {
          '201': {
            description: 'The SDP answer. Location is the session URL for PATCH and DELETE.',
            headers: {
              Location: { required: true, schema: { type: 'string' } },
              ETag: { schema: { type: 'string' } },
              Link: { description: 'ICE servers, as for OPTIONS.', schema: { type: 'string' } },
            },
            content: { 'application/sdp': { schema: { type: 'string' } } },
          },
          '400': res('SdpError'),
          '401': res('SdpError'),
          '404': res('SdpError'),
          '409': res('SdpError'),
          '413': res('SdpError'),
          '415': res('SdpError'),
          '422': text('Unsupported codecs or track counts; the body says what is supported.'),
          '503': res('SdpError'),
        },
      },
      options: icePreflight,
    },
    [`/${kind}/{stream}/{session}`]: {
      patch: {
        tags: [tag],
        operationId: `${kind}Patch`,
        summary: 'Trickle ICE candidates or restart ICE (RFC 8840 SDP fragment)',
        ...security,
        parameters: [par('StreamId'), par('SessionId')],
        requestBody: {
          required: true,
          content: { 'application/trickle-ice-sdpfrag': { schema: { type: 'string' } } },
        },
        responses: {
          '204': { description: 'Candidates accepted.' },
          '200': {
            description: 'ICE restart: the server fragment.',
            content: { 'application/trickle-ice-sdpfrag': { schema: { type: 'string' } } },
          },
          '400': res('SdpError'),
          '404': res('SdpError'),
          '412': text('If-Match does not match the session ETag.'),
          '413': res('SdpError'),
          '415': res('SdpError'),
          '428': text('An ICE restart needs If-Match.'),
        },
      },
      options: {
        tags: [tag],
        operationId: `${kind}SessionOptions`,
        summary: 'CORS preflight of the session URL',
        parameters: [par('StreamId'), par('SessionId')],
        responses: { '204': { description: 'No content; Accept-Patch names the fragment type.' } },
      },
      delete: {
        tags: [tag],
        operationId: `${kind}Delete`,
        summary: 'End the session',
        ...security,
        parameters: [par('StreamId'), par('SessionId')],
        responses: { '200': { description: 'Ended.' }, '404': res('SdpError') },
      },
    },
  };
}

function paths(): Json {
  const presetBody = { required: true, content: json(ref('PresetInput')) };
  const entry = ok('The preset.', ref('PresetEntry'));
  return {
    '/': {
      get: {
        tags: ['pages'],
        operationId: 'playerPage',
        summary: 'The player page (hls.js; WHEP as the low-latency option)',
        responses: { '200': text('HTML.', 'text/html') },
      },
    },
    '/player/style.css': {
      get: {
        tags: ['pages'],
        operationId: 'pageStyles',
        summary: 'Style sheet of the pages',
        responses: { '200': text('CSS.', 'text/css') },
      },
    },
    '/vendor/hls.mjs': {
      get: {
        tags: ['pages'],
        operationId: 'hlsJs',
        summary: 'hls.js, as the player page loads it',
        responses: { '200': text('JavaScript module.', 'text/javascript') },
      },
    },
    '/healthz': {
      get: {
        tags: ['operations'],
        operationId: 'health',
        summary: 'Liveness: the process answers',
        responses: { '200': ok('Alive.', ref('Health')) },
      },
    },
    '/readyz': {
      get: {
        tags: ['operations'],
        operationId: 'ready',
        summary: 'Readiness: Redis answers and ffmpeg can encode',
        responses: {
          '200': ok('Ready.', ref('Readiness')),
          '503': ok('Not ready; `checks` says what is missing.', ref('Readiness')),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['operations'],
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        responses: { '200': text('Prometheus text exposition format.', 'text/plain; version=0.0.4') },
      },
    },
    '/api/openapi.json': {
      get: {
        tags: ['operations'],
        operationId: 'openApi',
        summary: 'This document',
        responses: { '200': ok('OpenAPI 3.1.', { type: 'object' }) },
      },
    },
    '/api/capabilities': {
      get: {
        tags: ['operations'],
        operationId: 'capabilities',
        summary: 'What ffmpeg on this machine can do: encoders and the hardware families that work',
        responses: { '200': ok('The probe result.', ref('Capabilities')) },
      },
    },
    '/api/presets': {
      get: getOp('presets', 'listPresets', 'List presets: built-ins first, then user presets by id', {
        '200': ok('The presets.', ref('PresetList')),
      }),
      post: {
        tags: ['presets'],
        operationId: 'createPreset',
        summary: 'Create a user preset',
        security: apiAuth,
        requestBody: presetBody,
        responses: {
          '201': {
            ...entry,
            description: 'Created.',
            headers: { Location: { required: true, schema: { type: 'string' } } },
          },
          '400': res('BadRequest'),
          '401': res('Unauthorized'),
          '409': res('Conflict'),
          '413': res('PayloadTooLarge'),
          '415': res('UnsupportedMediaType'),
        },
      },
    },
    '/api/presets/{id}': {
      parameters: [par('PresetId')],
      get: getOp('presets', 'getPreset', 'Read a preset', { '200': entry, '404': res('NotFound') }),
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
          '201': {
            ...entry,
            description: 'Created.',
            headers: { Location: { required: true, schema: { type: 'string' } } },
          },
          '400': res('BadRequest'),
          '401': res('Unauthorized'),
          '404': res('NotFound'),
          '409': res('Conflict'),
          '413': res('PayloadTooLarge'),
          '415': res('UnsupportedMediaType'),
        },
      },
      delete: {
        tags: ['presets'],
        operationId: 'deletePreset',
        summary: 'Delete a user preset',
        security: apiAuth,
        responses: {
          '204': { description: 'Deleted.' },
          '401': res('Unauthorized'),
          '404': res('NotFound'),
          '409': res('Conflict'),
        },
      },
    },
    '/api/jobs': {
      get: getOp('jobs', 'listJobs', 'Transcode jobs and their state', {
        '200': ok('The jobs.', ref('JobList')),
      }),
    },
    '/api/jobs/{id}': {
      parameters: [par('JobId')],
      get: getOp('jobs', 'getJob', 'One job', { '200': ok('The job.', ref('Job')), '404': res('NotFound') }),
      delete: {
        tags: ['jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel a job: a queued one goes at once, a running one is stopped by its worker',
        security: apiAuth,
        responses: {
          '200': ok('Cancelled.', ref('Job')),
          '202': ok('Cancelling: the worker stops it shortly.', ref('Job')),
          '401': res('Unauthorized'),
          '404': res('NotFound'),
          '409': res('Conflict'),
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
              schema: ref('VodUpload'),
              encoding: { file: { contentType: 'application/octet-stream, video/*' } },
            },
            'application/json': { schema: ref('VodFileRequest') },
          },
        },
        responses: {
          '202': {
            ...ok('Queued.', ref('Job')),
            headers: { Location: { required: true, schema: { type: 'string' } } },
          },
          '400': res('BadRequest'),
          '401': res('Unauthorized'),
          '409': res('Conflict'),
          '413': res('PayloadTooLarge'),
          '415': res('UnsupportedMediaType'),
          '422': errorResponse('`hardware_unavailable`: the preset requires hardware this cluster lacks.'),
        },
      },
    },
    '/api/streams': {
      get: getOp('streams', 'listStreams', 'Live streams', { '200': ok('The streams.', ref('StreamList')) }),
    },
    '/api/workers': {
      get: getOp(
        'operations',
        'listWorkers',
        'Worker processes (heartbeat within the last 6 s): encoder families, queues, running jobs, load',
        { '200': ok('The workers.', ref('WorkerList')), '503': errorResponse('Redis does not answer.') },
      ),
    },
    '/api/streams/{stream}': {
      parameters: [par('StreamId')],
      get: getOp('streams', 'getStream', 'One live stream: ingest stats, ladder and job state', {
        '200': ok('The stream.', ref('Stream')),
        '404': res('NotFound'),
      }),
    },
    '/hls/{id}/{name}': {
      parameters: [par('AssetId'), par('HlsName')],
      get: {
        tags: ['hls'],
        operationId: 'hls',
        summary:
          'LL-HLS: the multivariant playlist (index.m3u8), media playlists, init segments, segments, parts',
        description:
          'Media playlists support blocking reload (`_HLS_msn`, `_HLS_part`) and delta updates (`_HLS_skip`).',
        parameters: [
          { name: '_HLS_msn', in: 'query', schema: { type: 'integer', minimum: 0 } },
          { name: '_HLS_part', in: 'query', schema: { type: 'integer', minimum: 0 } },
          { name: '_HLS_skip', in: 'query', schema: { type: 'string', enum: ['YES', 'v2'] } },
        ],
        responses: {
          '200': {
            description: 'A playlist or media.',
            content: {
              'application/vnd.apple.mpegurl': { schema: { type: 'string' } },
              'video/mp4': { schema: { type: 'string', contentMediaType: 'video/mp4' } },
              'video/iso.segment': { schema: { type: 'string', contentMediaType: 'video/iso.segment' } },
            },
          },
          '400': res('BadRequest'),
          '404': res('NotFound'),
        },
      },
    },
  };
}

/** The relay: the worker's read of a live stream (not for players). */
function relayPath(): Json {
  return {
    '/internal/relay/{stream}': {
      get: {
        tags: ['streams'],
        operationId: 'relayStream',
        summary: "A live stream's received media as one Matroska byte stream, for the worker running its job",
        description:
          'Starts at a key frame of the current publish session and ends with it (a takeover or the end of the stream). `Authorization: Bearer` with the per-stream token the live job carries.',
        parameters: [
          {
            name: 'stream',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' },
          },
        ],
        responses: {
          '200': {
            description:
              'Matroska (live, unknown size); `X-Whipcast-Epoch` gives the wall clock of media time 0.',
            content: { 'video/x-matroska': { schema: { type: 'string', format: 'binary' } } },
          },
          '401': res('Unauthorized'),
          '404': res('NotFound'),
        },
      },
    },
  };
}

function publishPagePath(): Json {
  return {
    '/publish': {
      get: {
        tags: ['pages'],
        operationId: 'publishPage',
        summary: 'Publish a camera or screen over WHIP from the browser',
        responses: {
          '200': { description: 'HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
  };
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

let cached: Json | undefined;

/** The document; built once (zod's JSON Schema conversion is not free) and shared. */
export function openApiDocument(): Json {
  cached ??= consoleOpenApi({
    openapi: '3.1.0',
    info: {
      title: 'whipcast',
      version: version(),
      summary: 'WHIP in, an FFmpeg ladder on BullMQ workers, LL-HLS and WHEP out',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'presets', description: 'Ladders, codecs, encoder settings and HLS timing' },
      { name: 'jobs', description: 'Transcode jobs (VOD files; live streams have one each)' },
      { name: 'streams', description: 'Live streams' },
      { name: 'WHIP', description: 'WebRTC ingest (RFC 9725)' },
      { name: 'WHEP', description: 'WebRTC playback' },
      { name: 'hls', description: 'The LL-HLS origin' },
      { name: 'operations', description: 'Health, readiness, metrics, capabilities, workers' },
      { name: 'pages', description: 'The browser pages' },
    ],
    paths: { ...paths(), ...publishPagePath(), ...sdpPaths('whip'), ...sdpPaths('whep'), ...relayPath() },
    components: components(),
  });
  return cached;
}

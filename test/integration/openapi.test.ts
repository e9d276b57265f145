import { describe, expect, it } from '@jest/globals';
import express, { Router } from 'express';
import { PresetSchema } from '../../src/core/preset.js';
import { jsonBody } from '../../src/api/body.js';
import { openApiDocument } from '../../src/api/openapi/document.js';
import {
  checkRoutesAgainstOpenApi,
  listExpressRoutes,
  toOpenApiPath,
  validateOpenApiDocument,
  type RouteInfo,
} from '../helpers/openapi-check.js';
import { PRESETS_MOUNT, presetsRouter } from '../../src/api/routes/presets.js';
import type { PresetStore } from '../../src/core/presets/types.js';

const noop: express.RequestHandler = (_req, _res, next) => next();
const unusedStore = {} as PresetStore;

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

describe('listExpressRoutes (express 5 router introspection)', () => {
  it('finds routes of nested routers under their mount paths', () => {
    const app = express();
    const inner = Router();
    inner.get('/', noop);
    inner.route('/:id').get(noop).put(noop).delete(noop);
    const deeper = Router();
    deeper.post('/:stream', noop);
    deeper.options('/:stream', noop);
    inner.use('/deep', deeper);
    app.get('/healthz', noop);
    app.use('/api/things', jsonBody(), inner);
    app.use(Router().get('/root-level', noop));
    app.use('/static', express.static('/nonexistent'));
    app.get(['/a', '/b'], noop);
    app.all('/any', noop);

    expect(listExpressRoutes(app)).toEqual([
      { method: 'GET', path: '/healthz' },
      { method: 'GET', path: '/api/things' },
      { method: 'GET', path: '/api/things/:id' },
      { method: 'PUT', path: '/api/things/:id' },
      { method: 'DELETE', path: '/api/things/:id' },
      { method: 'POST', path: '/api/things/deep/:stream' },
      { method: 'OPTIONS', path: '/api/things/deep/:stream' },
      { method: 'GET', path: '/root-level' },
      { method: 'GET', path: '/a' },
      { method: 'GET', path: '/b' },
      { method: 'ALL', path: '/any' },
    ]);
  });

  it('reads a bare router too', () => {
    expect(listExpressRoutes(presetsRouter({ presets: unusedStore, requireApiToken: noop }))).toEqual([
      { method: 'GET', path: '/' },
      { method: 'POST', path: '/' },
      { method: 'GET', path: '/:id' },
      { method: 'PUT', path: '/:id' },
      { method: 'DELETE', path: '/:id' },
    ]);
  });
});

describe('checkRoutesAgainstOpenApi', () => {
  const doc = {
    openapi: '3.1.0',
    paths: {
      '/api/things': { get: {}, post: {} },
      '/api/things/{id}': { get: {}, delete: {}, parameters: [] },
      '/hls/{id}/{name}': { get: {} },
      '/documented-only': { get: {} },
    },
  };

  it('passes when both sides agree, `:id` matching `{id}`', () => {
    const routes: RouteInfo[] = [
      { method: 'GET', path: '/api/things' },
      { method: 'POST', path: '/api/things' },
      { method: 'GET', path: '/api/things/:id' },
      { method: 'DELETE', path: '/api/things/:id' },
      { method: 'GET', path: '/hls/:id/:name' },
      { method: 'GET', path: '/documented-only' },
    ];
    expect(checkRoutesAgainstOpenApi(routes, doc)).toEqual([]);
  });

  it('reports each mismatch, both ways', () => {
    const routes: RouteInfo[] = [
      { method: 'GET', path: '/api/things' },
      { method: 'PUT', path: '/api/things' },
      { method: 'GET', path: '/api/things/:id' },
      { method: 'GET', path: '/hls/:stream/*file' },
      { method: 'GET', path: '/opt{/:x}' },
      { method: 'ALL', path: '/catch' },
    ];
    expect(checkRoutesAgainstOpenApi(routes, doc)).toEqual([
      'document DELETE /api/things/{id} has no route',
      'document GET /documented-only has no route',
      'document GET /hls/{id}/{name} has no route (spelled /hls/{stream}/{file} there: the parameter names differ)',
      'document POST /api/things has no route',
      'route ALL /catch: .all() cannot be documented; register each method',
      'route GET /hls/{stream}/{file} is not in the document (spelled /hls/{id}/{name} there: the parameter names differ)',
      'route GET /opt{/:x}: its path cannot be written as an OpenAPI path template',
      'route PUT /api/things is not in the document',
    ]);
  });

  it('converts express paths to OpenAPI templates', () => {
    expect(toOpenApiPath('/api/presets/:id')).toBe('/api/presets/{id}');
    expect(toOpenApiPath('/whip/:stream/:session')).toBe('/whip/{stream}/{session}');
    expect(toOpenApiPath('/files/*rest')).toBe('/files/{rest}');
    expect(toOpenApiPath('/api/openapi.json')).toBe('/api/openapi.json');
    expect(toOpenApiPath('/a{/:b}')).toBeNull();
    expect(toOpenApiPath('/^\\/x/i')).toBeNull();
  });
});

describe('openApiDocument()', () => {
  const doc = openApiDocument() as Doc;

  it('is structurally OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(validateOpenApiDocument(doc)).toEqual([]);
    // And survives the trip through JSON the route sends it on.
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('catches structural mistakes (the validator itself works)', () => {
    const broken = {
      openapi: '3.0.3',
      info: { title: 'x' },
      paths: {
        'no-slash': {},
        '/a/:id': { get: { responses: {} } },
        '/b/{id}': { get: { responses: { '200': { description: 'ok' } } } },
        '/c': {
          post: {
            operationId: 'dup',
            parameters: [{ name: 'x', in: 'path' }],
            responses: { '2xx': { description: 'bad key' }, '200': {} },
          },
          put: { operationId: 'dup', responses: { '200': { $ref: '#/components/responses/Missing' } } },
        },
      },
    };
    expect(validateOpenApiDocument(broken)).toEqual([
      'openapi must be "3.1.x" (got "3.0.3")',
      'info must have a string title and version',
      'path no-slash must start with /',
      'path /a/:id uses express syntax; OpenAPI writes {name}',
      'GET /a/:id has no responses',
      'GET /b/{id}: path parameter id is not declared',
      'PUT /c 200: a response needs a description',
      'POST /c: operationId dup is used twice',
      // '200' before '2xx': JavaScript orders integer-like keys first.
      'POST /c 200: a response needs a description',
      'POST /c: bad response key 2xx',
      'POST /c: parameter x is not in the path',
      'POST /c: path parameter x must be required',
      '#/paths/~1c/put/responses/200: $ref #/components/responses/Missing does not resolve',
    ]);
  });

  it('describes every endpoint of CONTRACT.md', () => {
    const ops = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((k) => ['get', 'put', 'post', 'delete', 'options', 'patch'].includes(k))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(ops).toEqual(
      expect.arrayContaining([
        'GET /',
        'GET /publish',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /api/openapi.json',
        'GET /api/capabilities',
        'GET /api/presets',
        'POST /api/presets',
        'GET /api/presets/{id}',
        'PUT /api/presets/{id}',
        'DELETE /api/presets/{id}',
        'GET /api/jobs',
        'GET /api/jobs/{id}',
        'DELETE /api/jobs/{id}',
        'POST /api/vod',
        'GET /api/streams',
        'GET /api/streams/{stream}',
        'GET /hls/{id}/{name}',
        'POST /whip/{stream}',
        'OPTIONS /whip/{stream}',
        'PATCH /whip/{stream}/{session}',
        'DELETE /whip/{stream}/{session}',
        'POST /whep/{stream}',
        'PATCH /whep/{stream}/{session}',
        'DELETE /whep/{stream}/{session}',
      ]),
    );
  });

  it('derives the preset schemas from the zod schema, strict and with its limits', () => {
    const input = doc.components.schemas.PresetInput as {
      additionalProperties: boolean;
      required: string[];
      properties: { ladder: { maxItems: number; items: { properties: { width: { maximum: number } } } } };
    };
    expect(input.additionalProperties).toBe(false);
    expect(input.required.sort()).toEqual(['id', 'ladder', 'name']);
    expect(input.properties.ladder.maxItems).toBe(6);
    expect(input.properties.ladder.items.properties.width.maximum).toBe(3840);
    expect(Object.keys(input.properties).sort()).toEqual(Object.keys(PresetSchema.shape).sort());
    // Output: what GET answers has every default filled in, so every key is required.
    const output = doc.components.schemas.Preset as { required: string[] };
    expect(output.required).toEqual(expect.arrayContaining(['audio', 'encoders', 'gopSeconds', 'hardware']));
  });

  it('marks mutating API calls as needing the API token, and reads as open', () => {
    for (const [p, item] of Object.entries(doc.paths)) {
      if (!p.startsWith('/api/')) continue;
      for (const [m, op] of Object.entries(item)) {
        if (m === 'parameters') continue;
        if (m === 'get') expect(op.security).toBeUndefined();
        else expect(op.security).toEqual([{ apiToken: [] }, {}]);
      }
    }
  });

  it('documents the error body shared by every JSON error', () => {
    expect(doc.components.schemas.Error).toMatchObject({
      required: ['error'],
      properties: { error: { required: ['code', 'message'] } },
    });
    const presetPost = doc.paths['/api/presets']?.post?.responses ?? {};
    expect(Object.keys(presetPost).sort()).toEqual(['201', '400', '401', '403', '409', '413', '415', '429']);
  });

  it('documents what the edge answers before any /api route: 403 everywhere, 429 on writes', () => {
    for (const [p, item] of Object.entries(doc.paths)) {
      if (!p.startsWith('/api/')) continue;
      for (const [m, op] of Object.entries(item)) {
        if (m === 'parameters') continue;
        expect({ at: `${m} ${p}`, forbidden: '403' in op.responses }).toEqual({
          at: `${m} ${p}`,
          forbidden: true,
        });
        expect({ at: `${m} ${p}`, limited: '429' in op.responses }).toEqual({
          at: `${m} ${p}`,
          limited: m !== 'get',
        });
      }
    }
    expect(doc.paths['/api/vod']?.post?.responses).toHaveProperty('507');
  });

  it('documents the pages of GET /api/presets: limit and cursor in, nextCursor out', () => {
    const op = doc.paths['/api/presets']?.get as unknown as { parameters: { name: string; in: string }[] };
    expect(op.parameters.map((p) => `${p.in} ${p.name}`)).toEqual(['query limit', 'query cursor']);
    const list = doc.components.schemas.PresetList as { required: string[] };
    expect(list.required).toEqual(expect.arrayContaining(['presets', 'nextCursor']));
  });

  it('matches the presets router as createApp mounts it', () => {
    const app = express();
    app.use(PRESETS_MOUNT, jsonBody(), presetsRouter({ presets: unusedStore, requireApiToken: noop }));
    const presetPaths = Object.fromEntries(
      Object.entries(doc.paths).filter(([p]) => p.startsWith(PRESETS_MOUNT)),
    );
    expect(checkRoutesAgainstOpenApi(listExpressRoutes(app), { paths: presetPaths })).toEqual([]);
  });
});

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express, { type RequestHandler } from 'express';
import { AppError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';
import { parsePreset } from '../../src/core/preset.js';
import { FilePresetStore } from '../../src/core/presets/store.js';
import { jsonBody } from '../../src/api/body.js';
import { errorHandler, notFoundHandler, type ErrorBody } from '../../src/api/errors.js';
import { presetsRouter } from '../../src/api/routes/presets.js';

const TOKEN = 'test-api-token-0123456789';
const rung = { width: 1280, height: 720, fps: 30, videoBitrateKbps: 2500 };
const valid = (over: Record<string, unknown> = {}) => ({
  id: 'my-preset',
  name: 'Mine',
  ladder: [rung],
  ...over,
});

/** A stand-in for the lead's requireToken: Bearer TOKEN or 401. */
const requireApiToken: RequestHandler = (req, res, next) => {
  if (req.get('authorization') === `Bearer ${TOKEN}`) return next();
  res.setHeader('WWW-Authenticate', 'Bearer realm="test"');
  next(new AppError('unauthorized', 'a valid Bearer token is required'));
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

/**
 * Raw node:http rather than fetch: fetch normalizes paths (`%2e%2e` → `..`) and
 * would hide exactly the traversal attempts these tests send.
 */
function request(
  base: URL,
  method: string,
  rawPath: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path: rawPath,
        // node sends a DELETE body unframed unless told its length.
        headers:
          body === undefined ? headers : { 'content-length': String(Buffer.byteLength(body)), ...headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('/api/presets over HTTP', () => {
  let dataDir: string;
  let server: http.Server;
  let base: URL;
  const logLines: string[] = [];
  const log = createLogger('info', { write: (s: string) => void logLines.push(s) });

  /** Mounted as createApp (src/api/app.ts) mounts it. */
  function buildApp(store: FilePresetStore): express.Express {
    const app = express();
    app.use('/api/presets', jsonBody(), presetsRouter({ presets: store, requireApiToken }));
    app.get('/boom', () => {
      throw new Error('secret detail: /etc/shadow');
    });
    app.post('/zod', jsonBody(), (req) => {
      parsePreset(req.body);
    });
    app.post('/whip/:stream', () => {
      throw new AppError('not_found', 'no such stream');
    });
    app.use('/api', notFoundHandler);
    app.use(notFoundHandler);
    app.use(errorHandler(log));
    return app;
  }

  const auth = { authorization: `Bearer ${TOKEN}` };
  const jsonHeaders = { 'content-type': 'application/json', ...auth };
  const call = (method: string, p: string, body?: unknown, headers: Record<string, string> = jsonHeaders) =>
    request(base, method, p, body === undefined ? undefined : JSON.stringify(body), headers);
  const listing = async () => (await call('GET', '/api/presets')).json;
  const files = () => readdirSync(path.join(dataDir, 'presets')).sort();

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'whipcast-presets-api-'));
    const store = new FilePresetStore({ dataDir, log });
    await store.load();
    server = http.createServer(buildApp(store));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the built-ins, flagged', async () => {
    const res = await call('GET', '/api/presets');
    expect(res.status).toBe(200);
    const { presets } = res.json as { presets: Array<{ preset: { id: string }; builtIn: boolean }> };
    expect(presets.map((e) => [e.preset.id, e.builtIn])).toEqual([
      ['default', true],
      ['light', true],
      ['low-latency', true],
      ['passthrough', true],
    ]);
  });

  it('does a CRUD round trip', async () => {
    const created = await call('POST', '/api/presets', valid({ description: 'first' }));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/api/presets/my-preset');
    expect(created.json).toMatchObject({ builtIn: false, preset: { id: 'my-preset', description: 'first' } });

    const read = await call('GET', created.headers.location ?? '');
    expect(read.status).toBe(200);
    expect(read.json).toEqual(created.json);

    // GET's `preset` goes back through PUT unchanged: the wire form round-trips.
    const { preset } = read.json as { preset: Record<string, unknown> };
    const put = await call('PUT', '/api/presets/my-preset', { ...preset, description: 'second' });
    expect(put.status).toBe(200);
    expect(put.headers.location).toBeUndefined();
    expect(
      ((await call('GET', '/api/presets/my-preset')).json as { preset: { description: string } }).preset,
    ).toMatchObject({ description: 'second' });

    const del = await call('DELETE', '/api/presets/my-preset', undefined, auth);
    expect(del.status).toBe(204);
    expect(del.text).toBe('');
    expect((await call('GET', '/api/presets/my-preset')).status).toBe(404);
    expect(files()).toEqual([]);
  });

  it('creates with PUT of a new id (201 + Location), the body id optional', async () => {
    const { id: _id, ...withoutId } = valid();
    const res = await call('PUT', '/api/presets/by-put', withoutId);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/api/presets/by-put');
    expect(res.json).toMatchObject({ preset: { id: 'by-put' } });
    expect((await call('DELETE', '/api/presets/by-put', undefined, auth)).status).toBe(204);
  });

  it('keeps a user preset across a restart', async () => {
    const created = await call('POST', '/api/presets', valid({ id: 'survivor' }));
    expect(created.status).toBe(201);
    const reopened = new FilePresetStore({ dataDir });
    const other = http.createServer(buildApp(reopened));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const otherBase = new URL(`http://127.0.0.1:${(other.address() as AddressInfo).port}`);
      const read = await request(otherBase, 'GET', '/api/presets/survivor');
      expect(read.status).toBe(200);
      expect(read.json).toEqual(created.json);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
    expect((await call('DELETE', '/api/presets/survivor', undefined, auth)).status).toBe(204);
  });

  describe('built-ins are read-only', () => {
    it.each([
      ['PUT', { ...valid({ id: 'default' }), name: 'Hijacked' }],
      ['DELETE', undefined],
    ])('%s /api/presets/default → 409 read_only, nothing changed', async (method, body) => {
      const before = await listing();
      const res = await call(method, '/api/presets/default', body);
      expect(res.status).toBe(409);
      expect((res.json as ErrorBody).error).toMatchObject({ code: 'read_only' });
      expect((res.json as ErrorBody).error.message).toMatch(/built in and read-only/);
      expect(await listing()).toEqual(before);
      expect(files()).toEqual([]);
    });

    it('POST with a built-in id → 409 conflict', async () => {
      const res = await call('POST', '/api/presets', valid({ id: 'light' }));
      expect(res.status).toBe(409);
      expect((res.json as ErrorBody).error).toMatchObject({ code: 'conflict', field: 'id' });
    });
  });

  describe('bad input gets a JSON 4xx naming the field, and changes nothing', () => {
    const existing = valid({ id: 'existing', name: 'Existing' });
    let before: unknown;

    beforeAll(async () => {
      expect((await call('POST', '/api/presets', existing)).status).toBe(201);
      before = await listing();
    });
    afterAll(async () => {
      expect(await listing()).toEqual(before);
      expect(files()).toEqual(['existing.json']);
      await call('DELETE', '/api/presets/existing', undefined, auth);
    });

    const seven = [1080, 720, 576, 480, 360, 240, 144].map((h) => ({ ...rung, height: h, width: 256 }));
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['an unknown key', { colour: 'red' }, 'colour', /unknown field; allowed: id, name/],
      ['an unknown key in a rung', { ladder: [{ ...rung, crf: 18 }] }, 'ladder.0.crf', /unknown field/],
      ['an odd width', { ladder: [{ ...rung, width: 1281 }] }, 'ladder.0.width', /must be even/],
      ['width 5000', { ladder: [{ ...rung, width: 5000 }] }, 'ladder.0.width', /at most 3840/],
      ['7 rungs', { ladder: seven }, 'ladder', /1 to 6 rungs/],
      ['0 rungs', { ladder: [] }, 'ladder', /1 to 6 rungs/],
      ['fps 61', { ladder: [{ ...rung, fps: 61 }] }, 'ladder.0.fps', /at most 60/],
      [
        'bitrate 50',
        { ladder: [{ ...rung, videoBitrateKbps: 50 }] },
        'ladder.0.videoBitrateKbps',
        /at least 100/,
      ],
      ['codec vp8', { ladder: [{ ...rung, codec: 'vp8' }] }, 'ladder.0.codec', /one of h264, hevc, av1/],
      [
        'hevc with profile high',
        { ladder: [{ ...rung, codec: 'hevc', profile: 'high' }] },
        'ladder.0.profile',
        /hevc allows main/,
      ],
      [
        'x264 preset -y',
        { encoders: { x264: { preset: '-y' } } },
        'encoders.x264.preset',
        /one of ultrafast/,
      ],
      [
        'x264 preset with an injected option',
        { encoders: { x264: { preset: 'ultrafast -i /etc/passwd' } } },
        'encoders.x264.preset',
        /one of ultrafast/,
      ],
      [
        'nvenc preset p9',
        { encoders: { nvenc: { preset: 'p9' } } },
        'encoders.nvenc.preset',
        /one of p1, .*p7/,
      ],
      ['id ../etc', { id: '../etc' }, 'id', /must match/],
      ['an upper-case id', { id: 'MyPreset' }, 'id', /must match/],
      [
        'segmentSeconds not a multiple of gopSeconds',
        { gopSeconds: 2, segmentSeconds: 5 },
        'segmentSeconds',
        /whole multiple of gopSeconds/,
      ],
      ['a width as a string', { ladder: [{ ...rung, width: '1280' }] }, 'ladder.0.width', /must be a number/],
      ['no name', { name: undefined }, 'name', /is required/],
    ];

    it.each(cases)('POST with %s → 400 naming %s', async (_what, over, field, message) => {
      const res = await call('POST', '/api/presets', valid({ id: 'new-one', ...over }));
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const { error } = res.json as ErrorBody;
      expect(error.code).toBe('validation_failed');
      expect(error.field).toBe(field);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith(`${field}: `)).toBe(true);
    });

    it.each(cases.filter(([, over]) => !('id' in over)))(
      'PUT over an existing preset with %s → 400 naming %s',
      async (_what, over, field) => {
        const res = await call('PUT', '/api/presets/existing', { ...existing, ...over });
        expect(res.status).toBe(400);
        expect((res.json as ErrorBody).error).toMatchObject({ code: 'validation_failed', field });
      },
    );

    it('PUT with a body id that differs from the path → 400 naming id', async () => {
      const res = await call('PUT', '/api/presets/existing', { ...existing, id: 'renamed' });
      expect(res.status).toBe(400);
      expect((res.json as ErrorBody).error).toMatchObject({ code: 'validation_failed', field: 'id' });
    });

    it('POST of an id that exists → 409 conflict', async () => {
      const res = await call('POST', '/api/presets', { ...existing, name: 'Again' });
      expect(res.status).toBe(409);
      expect((res.json as ErrorBody).error).toMatchObject({ code: 'conflict', field: 'id' });
    });

    it.each([
      ['an array', []],
      ['null', null],
    ])('a body that is %s → 400', async (_what, body) => {
      const res = await call('POST', '/api/presets', body);
      expect(res.status).toBe(400);
      expect((res.json as ErrorBody).error.code).toMatch(/^(validation_failed|bad_json)$/);
    });

    it('malformed JSON → 400 bad_json', async () => {
      const res = await request(base, 'POST', '/api/presets', '{"id": "x", "name": ', jsonHeaders);
      expect(res.status).toBe(400);
      expect((res.json as ErrorBody).error.code).toBe('bad_json');
      expect((res.json as ErrorBody).error.message).toMatch(/^the body is not valid JSON/);
    });

    it('a body over 64 KiB → 413 payload_too_large', async () => {
      const big = JSON.stringify(valid({ id: 'big', description: 'x'.repeat(70 * 1024) }));
      for (const method of ['POST', 'PUT']) {
        const p = method === 'POST' ? '/api/presets' : '/api/presets/existing';
        const res = await request(base, method, p, big, jsonHeaders);
        expect(res.status).toBe(413);
        expect((res.json as ErrorBody).error.code).toBe('payload_too_large');
        expect((res.json as ErrorBody).error.message).toMatch(/65536 bytes/);
      }
    });

    it.each([
      ['text/plain', { 'content-type': 'text/plain', ...auth }],
      ['form data', { 'content-type': 'application/x-www-form-urlencoded', ...auth }],
      ['no content type', { ...auth }],
    ])('a %s body → 415 unsupported_media_type', async (_what, headers) => {
      for (const [method, p] of [
        ['POST', '/api/presets'],
        ['PUT', '/api/presets/existing'],
      ] as const) {
        const res = await request(base, method, p, JSON.stringify(valid({ id: 'existing' })), headers);
        expect(res.status).toBe(415);
        expect((res.json as ErrorBody).error.code).toBe('unsupported_media_type');
      }
    });

    it('an unsupported charset → 415', async () => {
      const res = await request(base, 'POST', '/api/presets', JSON.stringify(valid()), {
        ...auth,
        'content-type': 'application/json; charset=latin1',
      });
      expect(res.status).toBe(415);
      expect((res.json as ErrorBody).error.code).toBe('unsupported_media_type');
    });

    it.each([
      '/api/presets/..%2F..%2Fetc',
      '/api/presets/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/api/presets/..',
      '/api/presets/MyPreset',
      `/api/presets/${'a'.repeat(65)}`,
      '/api/presets/a%00b',
    ])('path id %s → 404 for GET, PUT and DELETE, and no file anywhere', async (p) => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await call(method, p, method === 'PUT' ? valid({ id: undefined }) : undefined);
        expect(res.status).toBe(404);
        expect((res.json as ErrorBody).error.code).toBe('not_found');
      }
      expect(existsSync(path.join(dataDir, 'etc.json'))).toBe(false);
      expect(readdirSync(dataDir)).toEqual(['presets']);
    });

    it('a path with broken percent-encoding → 400 bad_request', async () => {
      const res = await call('GET', '/api/presets/%E0%A4%A');
      expect(res.status).toBe(400);
      expect((res.json as ErrorBody).error.code).toBe('bad_request');
    });

    it('mutations without the token → 401, with WWW-Authenticate', async () => {
      const noAuth = { 'content-type': 'application/json' };
      for (const [method, p] of [
        ['POST', '/api/presets'],
        ['PUT', '/api/presets/existing'],
        ['DELETE', '/api/presets/existing'],
      ] as const) {
        const res = await call(method, p, valid({ id: 'existing', name: 'Not yours' }), noAuth);
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
        expect((res.json as ErrorBody).error.code).toBe('unauthorized');
      }
    });

    it('unknown API routes → 404 JSON', async () => {
      const res = await call('GET', '/api/nothing-here');
      expect(res.status).toBe(404);
      expect(res.json).toEqual({
        error: { code: 'not_found', message: 'no route for GET /api/nothing-here' },
      });
      expect((await call('PATCH', '/api/presets/existing', valid())).status).toBe(404);
    });
  });

  describe('the error handler', () => {
    it('answers an unexpected error with a generic 500 and logs the cause', async () => {
      const res = await call('GET', '/boom');
      expect(res.status).toBe(500);
      expect(res.json).toEqual({
        error: { code: 'internal', message: 'internal error; the server log has the details' },
      });
      expect(res.text).not.toMatch(/secret|shadow/);
      expect(logLines.some((l) => l.includes('secret detail: /etc/shadow'))).toBe(true);
    });

    it('maps a ZodError thrown by a handler to 400 validation_failed naming the field', async () => {
      const res = await call('POST', '/zod', valid({ ladder: [{ ...rung, fps: 0 }] }));
      expect(res.status).toBe(400);
      expect((res.json as ErrorBody).error).toEqual({
        code: 'validation_failed',
        field: 'ladder.0.fps',
        message: 'ladder.0.fps: must be at least 1',
      });
    });

    it('answers WHIP errors as text/plain', async () => {
      const res = await request(base, 'POST', '/whip/abc', 'v=0', { 'content-type': 'application/sdp' });
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('no such stream');
    });
  });
});

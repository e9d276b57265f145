import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openApiDocument } from '../../src/api/openapi/document.js';
import type { JobView } from '../../src/core/jobs.js';
import type { PresetInput } from '../../src/core/preset.js';
import type { StreamView } from '../../src/core/streams.js';
import type { WorkerInfo } from '../../src/core/workers.js';
import { makeTestClip } from '../helpers/media.js';
import { OpenApiValidator } from '../helpers/openapi-validator.js';
import { startTestService } from '../helpers/service.js';
import { WhepTestClient } from '../helpers/whep-client.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const TOKEN = 'openapi-responses-token';
const auth = { Authorization: `Bearer ${TOKEN}` };
const json = { 'Content-Type': 'application/json' };

/** Small enough that a 3 s clip and a live stream transcode in a few seconds on a shared CPU. */
const TINY: PresetInput = {
  id: 'tiny',
  name: 'Tiny',
  ladder: [{ width: 160, height: 90, fps: 15, videoBitrateKbps: 100 }],
  audio: { codec: 'aac', bitrateKbps: 32, channels: 1, sampleRate: 48000 },
  encoders: { x264: { preset: 'ultrafast' } },
};
const NEEDS_NVENC: PresetInput = {
  ...TINY,
  id: 'needs-nvenc',
  name: 'NVENC only',
  hardware: { policy: 'require', family: 'nvenc' },
};

/**
 * Polls `fn` until it returns something truthy. Unlike helpers/service-process's waitFor,
 * a throw (a response the document does not allow) fails at once instead of being retried.
 */
async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };

/** The GET routes this test must answer for: all of /api, and the probes. */
const DOCUMENTED_GETS = Object.entries(doc.paths)
  .filter(([p, item]) => 'get' in item && (p.startsWith('/api/') || p === '/healthz' || p === '/readyz'))
  .map(([p]) => p);

/**
 * Every GET of the API and every error response the service really gives, validated
 * with ajv against the schema the OpenAPI document declares for that route and status.
 * The document is generated from the zod schemas the code's types come from; this is
 * what holds those types to what the code really sends (JSON.parse'd objects, Redis
 * round trips, spreads of wider objects), which the compiler cannot see.
 */
describe('real responses match the OpenAPI document', () => {
  const validator = new OpenApiValidator(doc);
  /** `GET /api/jobs/{id} 200`: each route and status a real response was validated for. */
  const validated = new Set<string>();
  const owned: { close(): Promise<void> }[] = [];
  let t: Started;
  let base = '';
  let clipName = '';

  /**
   * Sends a request, and checks its answer is JSON whose status the document declares for
   * `template` (the documented path) and whose body its schema accepts.
   */
  async function call<T = unknown>(
    method: string,
    template: string,
    url: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: T }> {
    const res = await fetch(`${base}${url}`, { ...init, method });
    const text = await res.text();
    const at = `${method} ${url} → ${res.status}`;
    expect({ at, type: res.headers.get('content-type') }).toEqual({
      at,
      type: expect.stringMatching(/^application\/json/),
    });
    const body = JSON.parse(text) as T;
    const problems = validator.validateResponse(template, method, res.status, body);
    expect({ at, problems, body: problems.length ? body : undefined }).toEqual({
      at,
      problems: [],
      body: undefined,
    });
    validated.add(`${method} ${template} ${res.status}`);
    return { status: res.status, body };
  }

  /**
   * GETs every documented GET route: a path parameter takes each value given for its
   * route. Any status the document declares passes here (a loaded machine may see Redis
   * miss its deadline: 503); the last test demands a 200 of each route at least once.
   */
  async function getEveryRoute(values: Record<string, string[]>): Promise<void> {
    for (const template of DOCUMENTED_GETS) {
      const urls = template.includes('{')
        ? (values[template] ?? []).map((v) => template.replace(/\{[^}]+\}/, encodeURIComponent(v)))
        : [template];
      for (const url of urls) await call('GET', template, url);
    }
  }

  const job = async (id: string) => (await call<JobView>('GET', '/api/jobs/{id}', `/api/jobs/${id}`)).body;

  beforeAll(async () => {
    t = await startTestService({ API_TOKEN: TOKEN });
    base = t.service.url;
    const clip = await makeTestClip(path.join(t.dir, 'media'), {
      seconds: 3,
      width: 320,
      height: 180,
      fps: 15,
      audio: true,
    });
    clipName = path.basename(clip);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(owned.map((c) => c.close()));
    await t?.close();
  });

  it('with presets and file jobs (finished, cancelled)', async () => {
    for (const preset of [TINY, NEEDS_NVENC]) {
      const created = await call('POST', '/api/presets', '/api/presets', {
        headers: { ...auth, ...json },
        body: JSON.stringify(preset),
      });
      expect(created.status).toBe(201);
    }
    const queue = (id: string) =>
      call<JobView>('POST', '/api/vod', '/api/vod', {
        headers: { ...auth, ...json },
        body: JSON.stringify({ name: clipName, presetId: 'tiny', id }),
      });
    expect((await queue('clip1')).status).toBe(202);
    // Queued behind clip1 (one job at a time), so usually cancelled before it starts (200);
    // 202 when it already started. The document declares both.
    expect((await queue('gone')).status).toBe(202);
    const cancel = await call<JobView>('DELETE', '/api/jobs/{id}', '/api/jobs/gone', { headers: auth });
    expect([200, 202]).toContain(cancel.status);

    // A running job has progress and an encoder; a finished one a result.
    await until('clip1 to run', async () => (await job('clip1')).state !== 'waiting', 60_000);
    const done = await until(
      'clip1 to complete',
      async () => {
        const j = await job('clip1');
        if (j.state === 'failed') throw new Error(`clip1 failed: ${j.failedReason}`);
        // A view read as the job completes may pair the new state with the old data (no result).
        return j.state === 'completed' && j.result !== null ? j : null;
      },
      90_000,
    );
    expect(done.result).toMatchObject({ family: 'x264', renditions: expect.any(Array) });
    // The preset prefers hardware that HWACCEL=none rules out: x264, flagged, with the reason.
    expect(done.encoder).toMatchObject({ family: 'x264', hwFallback: true, reason: expect.any(String) });
    await until('gone to be cancelled', async () => (await job('gone')).state === 'cancelled', 60_000);

    await getEveryRoute({
      '/api/presets/{id}': ['default', 'tiny'],
      '/api/jobs/{id}': ['clip1', 'gone'],
    });
  }, 180_000);

  it('with a live stream, a WHEP viewer, and the stream ended', async () => {
    const publisher = await WhipTestClient.publish({
      url: `${base}/whip/live1?preset=tiny`,
      width: 320,
      height: 180,
      fps: 15,
      gop: 15,
      x264Preset: 'ultrafast',
      seconds: 60,
    });
    owned.push(publisher);
    const viewer = await WhepTestClient.create({ url: `${base}/whep/live1` });
    owned.push(viewer);
    await viewer.play();

    const stream = () => call<StreamView>('GET', '/api/streams/{stream}', '/api/streams/live1');
    // Everything a live stream's view can hold: ingest figures from a key frame on, the
    // ladder and job from the live job, and the viewer's counters.
    await until(
      'the live stream to be fully described',
      async () => {
        const s = (await stream()).body;
        return (
          s.ingest?.video?.width != null &&
          s.ingest.audio !== null &&
          s.job?.state === 'active' &&
          s.ladder !== undefined &&
          (s.viewers?.whepViewers ?? []).some((v) => v.packetsSent > 0)
        );
      },
      60_000,
    );
    await until(
      'the worker to report the live job',
      async () => {
        const { body } = await call<{ workers: WorkerInfo[] }>('GET', '/api/workers', '/api/workers');
        return body.workers.some((w) => w.jobs.some((j) => j.id === 'live1'));
      },
      20_000,
    );
    await until('live progress', async () => (await job('live1')).progress !== null, 30_000);
    await getEveryRoute({
      '/api/presets/{id}': ['tiny'],
      '/api/jobs/{id}': ['live1'],
      '/api/streams/{stream}': ['live1'],
    });

    await viewer.close();
    expect((await publisher.delete()).status).toBe(200);
    // An ended stream's view, and a live job's result (with its ffmpeg runs).
    await until('live1 to end', async () => (await stream()).body.state === 'ended', 30_000);
    const ended = await until(
      'the live job to complete',
      async () => {
        const j = await job('live1');
        if (j.state === 'failed') throw new Error(`live1 failed: ${j.failedReason}`);
        // A view read as the job completes may pair the new state with the old data (no result).
        return j.state === 'completed' && j.result !== null ? j : null;
      },
      60_000,
    );
    expect(ended.result).toMatchObject({ runs: expect.any(Number) });
    await getEveryRoute({ '/api/jobs/{id}': ['live1'], '/api/streams/{stream}': ['live1'] });
  }, 180_000);

  it('with the documented error body for each error', async () => {
    type Err = { error: { code: string; message: string; field?: string } };
    const cases: { method: string; template: string; url: string; init?: RequestInit; code: string }[] = [
      { method: 'GET', template: '/api/jobs/{id}', url: '/api/jobs/nope', code: 'not_found' },
      { method: 'GET', template: '/api/presets/{id}', url: '/api/presets/nope', code: 'not_found' },
      { method: 'GET', template: '/api/streams/{stream}', url: '/api/streams/nope', code: 'not_found' },
      {
        method: 'DELETE',
        template: '/api/jobs/{id}',
        url: '/api/jobs/nope',
        init: { headers: auth },
        code: 'not_found',
      },
      {
        method: 'POST',
        template: '/api/presets',
        url: '/api/presets',
        init: { headers: { ...auth, ...json }, body: '{"id": "broken",' },
        code: 'bad_json',
      },
      {
        method: 'POST',
        template: '/api/presets',
        url: '/api/presets',
        init: {
          headers: { ...auth, ...json },
          body: JSON.stringify({ ...TINY, id: 'odd', ladder: [{ ...TINY.ladder[0], width: 161 }] }),
        },
        code: 'validation_failed',
      },
      {
        method: 'POST',
        template: '/api/presets',
        url: '/api/presets',
        init: { headers: json, body: JSON.stringify({ ...TINY, id: 'no-token' }) },
        code: 'unauthorized',
      },
      {
        method: 'POST',
        template: '/api/presets',
        url: '/api/presets',
        init: {
          headers: { ...auth, ...json },
          body: JSON.stringify({ ...TINY, id: 'huge', description: 'x'.repeat(70 * 1024) }),
        },
        code: 'payload_too_large',
      },
      {
        method: 'POST',
        template: '/api/presets',
        url: '/api/presets',
        init: { headers: { ...auth, 'Content-Type': 'text/plain' }, body: 'tiny' },
        code: 'unsupported_media_type',
      },
      {
        method: 'POST',
        template: '/api/presets',
        url: '/api/presets',
        init: { headers: { ...auth, ...json }, body: JSON.stringify(TINY) },
        code: 'conflict',
      },
      {
        method: 'DELETE',
        template: '/api/presets/{id}',
        url: '/api/presets/default',
        init: { headers: auth },
        code: 'read_only',
      },
      {
        method: 'POST',
        template: '/api/vod',
        url: '/api/vod',
        init: {
          headers: { ...auth, ...json },
          body: JSON.stringify({ name: clipName, presetId: 'needs-nvenc', id: 'no-gpu' }),
        },
        code: 'hardware_unavailable',
      },
      {
        method: 'POST',
        template: '/api/vod',
        url: '/api/vod',
        init: { headers: { ...auth, ...json }, body: JSON.stringify({ name: 'http://example.com/a.mp4' }) },
        code: 'validation_failed',
      },
    ];
    const seen: string[] = [];
    for (const c of cases) {
      const { status, body } = await call<Err>(c.method, c.template, c.url, c.init);
      expect({ at: `${c.method} ${c.url}`, code: body.error.code }).toEqual({
        at: `${c.method} ${c.url}`,
        code: c.code,
      });
      seen.push(`${status} ${body.error.code}`);
    }
    expect(seen).toEqual(
      expect.arrayContaining([
        '400 bad_json',
        '400 validation_failed',
        '401 unauthorized',
        '404 not_found',
        '409 conflict',
        '409 read_only',
        '413 payload_too_large',
        '415 unsupported_media_type',
        '422 hardware_unavailable',
      ]),
    );

    // No route: the same error body, though no documented path covers it.
    const res = await fetch(`${base}/api/no-such-thing`);
    expect(res.status).toBe(404);
    expect(validator.validateComponent('Error', await res.json())).toEqual([]);
  }, 60_000);

  it('for every documented GET route under /api, and /healthz and /readyz', () => {
    expect(DOCUMENTED_GETS).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/api/jobs/{id}', '/api/streams/{stream}']),
    );
    const missed = DOCUMENTED_GETS.filter((p) => !validated.has(`GET ${p} 200`));
    expect(missed).toEqual([]);
  });

  it('and the check fails when a response drifts from the document', async () => {
    const { body } = await call<JobView>('GET', '/api/jobs/{id}', '/api/jobs/clip1');
    const check = (b: unknown) => validator.validateResponse('/api/jobs/{id}', 'GET', 200, b);
    expect(check(body)).toEqual([]);
    // A field the document lacks, a missing one, a value outside an enum, a wrong type,
    // a bad date, a nested component ($ref) broken.
    const { attempts: _attempts, ...withoutAttempts } = body;
    const drifted: unknown[] = [
      { ...body, extra: 1 },
      withoutAttempts,
      { ...body, state: 'paused' },
      { ...body, attempts: '1' },
      { ...body, createdAt: 'yesterday' },
      { ...body, result: { ...body.result, family: 'gpu' } },
    ];
    for (const b of drifted) expect(check(b)).not.toEqual([]);
    // And a status the document does not declare is an error of its own.
    expect(() => validator.responseSchemaPointer('/api/jobs/{id}', 'GET', 418)).toThrow(/does not declare/);
  });
});

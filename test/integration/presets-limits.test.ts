import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { jsonBody } from '../../src/api/body.js';
import { errorHandler, notFoundHandler, type ErrorBody } from '../../src/api/errors.js';
import { presetsRouter, type PresetList } from '../../src/api/routes/presets.js';
import { createLogger } from '../../src/core/log.js';
import { FilePresetStore } from '../../src/core/presets/store.js';

const rung = (width: number, height: number, fps = 30, codec = 'h264') => ({
  width,
  height,
  fps,
  videoBitrateKbps: 2000,
  codec,
});
const preset = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  name: id,
  ladder: [rung(640, 360)],
  ...over,
});

/**
 * Presets have limits (issue 12): a cap on how many user presets the store keeps, a list
 * that comes a page at a time, and a cost ceiling no worker could run beyond in real time.
 */
describe('/api/presets limits', () => {
  let dataDir: string;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'whipcast-presets-limits-'));
    const store = new FilePresetStore({ dataDir, maxUserPresets: 5, maxCost: 1000 });
    const app = express();
    app.use(
      '/api/presets',
      jsonBody(),
      presetsRouter({ presets: store, requireApiToken: (_q, _s, n) => n() }),
    );
    app.use(notFoundHandler);
    app.use(errorHandler(createLogger('silent')));
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const send = (method: string, p: string, body: unknown) =>
    fetch(`${base}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const userFiles = () => readdirSync(path.join(dataDir, 'presets')).filter((n) => n.endsWith('.json'));

  it('refuses a preset no worker could run in real time, naming the costliest rung and what each costs', async () => {
    const heavy = preset('six-4k-av1', {
      ladder: [3840, 3200, 2560, 1920, 1280, 640].map((w, i) => ({
        ...rung(w, (w * 9) / 16, 60, 'av1'),
        name: `r${i}`,
      })),
      encoders: { x264: { preset: 'veryslow' } },
    });
    const res = await send('POST', '/api/presets', heavy);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.field).toBe('ladder.0');
    expect(body.error.message).toMatch(/over the 1000 one worker is allowed \(MAX_PRESET_COST\)/);
    expect(body.error.message).toMatch(/ladder\.0 \(r0: 3840x2160 at 60 fps, av1 at veryslow\) costs [\d.]+/);
    // PUT is held to the same ceiling; nothing was written either way.
    expect((await send('PUT', '/api/presets/six-4k-av1', heavy)).status).toBe(400);
    expect(userFiles()).toEqual([]);
    // One 4K60 H.264 rung at veryfast fits.
    const one = preset('one-4k', { ladder: [rung(3840, 2160, 60)] });
    expect((await send('POST', '/api/presets', one)).status).toBe(201);
    expect((await fetch(`${base}/api/presets/one-4k`, { method: 'DELETE' })).status).toBe(204);
  });

  it('keeps at most MAX_USER_PRESETS user presets: 409 past it, by POST or by a PUT that creates', async () => {
    for (let i = 0; i < 5; i++)
      expect((await send('POST', '/api/presets', preset(`p${i}`))).status).toBe(201);
    const over = await send('POST', '/api/presets', preset('p5'));
    expect(over.status).toBe(409);
    const body = (await over.json()) as ErrorBody;
    expect(body.error.code).toBe('conflict');
    expect(body.error.message).toMatch(
      /there are 5 user presets, the most this server keeps \(MAX_USER_PRESETS\)/,
    );
    expect((await send('PUT', '/api/presets/p5', preset('p5'))).status).toBe(409);
    // Replacing one that exists adds nothing: allowed.
    expect((await send('PUT', '/api/presets/p0', preset('p0', { name: 'again' }))).status).toBe(200);
    // Concurrent creates cannot slip past the cap together.
    expect((await fetch(`${base}/api/presets/p4`, { method: 'DELETE' })).status).toBe(204);
    const raced = await Promise.all(['q1', 'q2', 'q3'].map((id) => send('POST', '/api/presets', preset(id))));
    expect(raced.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(userFiles()).toHaveLength(5);
  });

  it('lists a page at a time: every preset once, in order, by cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${cursor}`;
      const res = await fetch(`${base}/api/presets${q}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as PresetList;
      expect(page.presets.length).toBeLessThanOrEqual(2);
      seen.push(...page.presets.map((e) => e.preset.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 20);
    const all = (await (await fetch(`${base}/api/presets?limit=500`)).json()) as PresetList;
    expect(all.nextCursor).toBeNull();
    expect(seen).toEqual(all.presets.map((e) => e.preset.id));
    // Built-ins first, then user presets, each by id.
    expect(seen.slice(0, 4)).toEqual(['default', 'light', 'low-latency', 'passthrough']);
    expect(seen.slice(4)).toEqual([...seen.slice(4)].sort());
    expect(pages).toBe(Math.ceil(seen.length / 2));
  });

  it('finds its place after a cursor whose preset was deleted meanwhile', async () => {
    const first = (await (await fetch(`${base}/api/presets?limit=5`)).json()) as PresetList;
    const cursor = first.nextCursor!;
    expect((await fetch(`${base}/api/presets/${cursor}`, { method: 'DELETE' })).status).toBe(204);
    const next = (await (await fetch(`${base}/api/presets?limit=100&cursor=${cursor}`)).json()) as PresetList;
    const all = (await (await fetch(`${base}/api/presets?limit=100`)).json()) as PresetList;
    const after = all.presets.filter((e) => !e.builtIn && e.preset.id > cursor).map((e) => e.preset.id);
    expect(after.length).toBeGreaterThan(0);
    expect(next.presets.map((e) => e.preset.id)).toEqual(after);
  });

  it.each([
    ['?limit=0', 'limit'],
    ['?limit=501', 'limit'],
    ['?limit=ten', 'limit'],
    ['?cursor=..%2Fetc', 'cursor'],
  ])('refuses a bad page request %s, naming the field', async (q, field) => {
    const res = await fetch(`${base}/api/presets${q}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error).toMatchObject({ code: 'validation_failed', field });
    expect(body.error.message).toMatch(
      field === 'limit' ? /^limit: must be a whole number from 1 to 500/ : /^cursor: /,
    );
  });
});

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import { get, type Reply } from '../helpers/http-get.js';
import { sdpFixture } from '../helpers/sdp-fixtures.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const BOUNDARY = 'whipcastCrossSite7f3a';

/** The body a browser sends for `<form enctype="multipart/form-data">` with one file: no preflight. */
function multipart(): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="x.mp4"\r\n` +
        'Content-Type: video/mp4\r\n\r\n',
    ),
    Buffer.alloc(64 * 1024, 7),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

const json = (r: Reply) => JSON.parse(r.body.toString()) as { error: { code: string; message: string } };

/**
 * Issue 12, "cross-site and rebinding", with raw requests: Host and Origin exactly as a
 * hostile page's browser (or a DNS-rebound one) sends them.
 */
describe('loopback mode (no tokens): the API and WHIP/WHEP answer this server only', () => {
  let t: Started;
  let port: number;
  let own: string;
  const uploads = () => {
    const dir = path.join(t.dir, 'data', 'uploads');
    return existsSync(dir) ? readdirSync(dir) : [];
  };
  const jobs = async () =>
    (JSON.parse((await get(port, '/api/jobs')).body.toString()) as { jobs: JobView[] }).jobs;

  beforeAll(async () => {
    t = await startTestService({ ROLES: 'api,ingest' });
    port = Number(new URL(t.service.url).port);
    own = `http://127.0.0.1:${port}`;
  }, 60_000);
  afterAll(async () => t?.close());

  const vod = (headers: Record<string, string>) =>
    get(port, '/api/vod', {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers },
      body: multipart(),
    });

  it('refuses a multipart POST /api/vod from another site: 403, nothing stored, nothing queued', async () => {
    const hostile: Record<string, string>[] = [
      { Origin: 'http://evil.example' },
      { Origin: `http://localhost:${port}` }, // another origin on this very machine
      { Origin: 'null' }, // a sandboxed frame, a file: page
      { 'Sec-Fetch-Site': 'cross-site' }, // a browser that sent no Origin
    ];
    for (const headers of hostile) {
      const r = await vod(headers);
      expect({ headers, status: r.status }).toEqual({ headers, status: 403 });
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(json(r).error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/API_TOKEN/) });
    }
    expect(uploads()).toEqual([]);
    expect(await jobs()).toEqual([]);
  });

  it('takes the same request from its own pages and from clients that are not browsers', async () => {
    // Refused for what it is (not a video) only after it was stored and queued: the guard let it in.
    const fromPage = await vod({ Origin: own, 'Sec-Fetch-Site': 'same-origin' });
    expect(fromPage.status).toBe(202);
    const fromCurl = await vod({});
    expect(fromCurl.status).toBe(202);
    expect((await jobs()).length).toBe(2);
  });

  it('refuses a foreign Host (DNS rebinding), reads included; loopback names pass', async () => {
    for (const [method, p] of [
      ['GET', '/api/jobs'],
      ['GET', '/api/presets'],
      ['POST', '/api/presets'],
    ] as const) {
      const r = await get(port, p, {
        method,
        headers: { Host: `rebound.evil.example:${port}`, 'Content-Type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ id: 'rebound', name: 'x', ladder: [] }) } : {}),
      });
      expect({ method, p, status: r.status }).toEqual({ method, p, status: 403 });
      expect(json(r).error.message).toMatch(/the Host "rebound\.evil\.example:\d+" is not this server's/);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) {
      expect({ host, status: (await get(port, '/api/presets', { headers: { Host: host } })).status }).toEqual(
        {
          host,
          status: 200,
        },
      );
    }
    // The HLS origin and the probes serve whoever asks (players on any page).
    expect((await get(port, '/healthz', { headers: { Host: 'cdn.example' } })).status).toBe(200);
  });

  it('refuses WHIP and WHEP offers from another site as text/plain 403; nothing goes live', async () => {
    for (const kind of ['whip', 'whep']) {
      const r = await get(port, `/${kind}/xsite`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Origin: 'https://evil.example' },
        body: sdpFixture('obs'),
      });
      expect({ kind, status: r.status }).toEqual({ kind, status: 403 });
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
      expect(r.body.toString()).toMatch(/is refused/);
      const rebound = await get(port, `/${kind}/xsite`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Host: 'rebound.evil.example' },
        body: sdpFixture('obs'),
      });
      expect(rebound.status).toBe(403);
    }
    expect((await get(port, '/api/streams/xsite')).status).toBe(404);
    // Its own page publishes.
    const own201 = await get(port, '/whip/xsite', {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Origin: own },
      body: sdpFixture('obs'),
    });
    expect(own201.status).toBe(201);
    await get(port, String(own201.headers['location']), { method: 'DELETE', headers: { Origin: own } });
  });
});

describe('with tokens, CORS is as documented', () => {
  const API_TOKEN = 'cross-site-api-token-0123';
  const PUBLISH_TOKEN = 'cross-site-publish-token-0';
  let t: Started;
  let port: number;

  beforeAll(async () => {
    t = await startTestService({ ROLES: 'api,ingest', API_TOKEN, PUBLISH_TOKEN });
    port = Number(new URL(t.service.url).port);
  }, 60_000);
  afterAll(async () => t?.close());

  it('asks another site for the token (401), and takes its request with it', async () => {
    const post = (headers: Record<string, string>) =>
      get(port, '/api/vod', {
        method: 'POST',
        headers: {
          'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
          Origin: 'https://studio.example',
          ...headers,
        },
        body: multipart(),
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${API_TOKEN}` })).status).toBe(202);
  });

  it('lets pages elsewhere publish with the token and play over WHEP (CORS *)', async () => {
    const pre = await get(port, '/whip/studio', {
      method: 'OPTIONS',
      headers: { Origin: 'https://studio.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    const pub = await get(port, '/whip/studio', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/sdp',
        Origin: 'https://studio.example',
        Authorization: `Bearer ${PUBLISH_TOKEN}`,
      },
      body: sdpFixture('obs'),
    });
    expect(pub.status).toBe(201);
    expect(pub.headers['access-control-allow-origin']).toBe('*');
    // WHEP from a player page elsewhere is not refused for its origin (409: not live yet).
    const play = await get(port, '/whep/nobody', {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Origin: 'https://player.example' },
      body: sdpFixture('obs'),
    });
    expect(play.status).not.toBe(403);
    await get(port, String(pub.headers['location']), {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${PUBLISH_TOKEN}` },
    });
  });
});

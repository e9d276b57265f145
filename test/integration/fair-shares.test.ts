import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sdpFixture } from '../helpers/sdp-fixtures.js';
import { ServiceProcess, waitFor } from '../helpers/service-process.js';
import { WhepTestClient } from '../helpers/whep-client.js';
import { WhipTestClient } from '../helpers/whip-client.js';

const API_TOKEN = 'fair-api-token-0123456789';
const PUBLISH_TOKEN = 'fair-publish-token-012345';

/**
 * Issue 12, "fair shares", against `npm start`'s own process: failed token checks per
 * client are limited (429 and one warning line), and so are WHIP and WHEP sessions per
 * client. The service sits behind a trusted proxy (TRUST_PROXY=1), so each request names
 * its client in X-Forwarded-For. ROLES=api,ingest: no transcode competes for the CPU.
 */
describe('fair shares per client', () => {
  let dir: string;
  let sp: ServiceProcess;
  const owned: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-fair-'));
    sp = await ServiceProcess.start({
      env: {
        PORT: '0',
        ROLES: 'api,ingest',
        DATA_DIR: path.join(dir, 'data'),
        HWACCEL: 'none',
        LOG_LEVEL: 'info',
        API_TOKEN,
        PUBLISH_TOKEN,
        TRUST_PROXY: '1',
        AUTH_FAILURES_PER_MINUTE: '5',
        MAX_PUBLISHES_PER_CLIENT: '1',
        MAX_VIEWERS_PER_CLIENT: '1',
        MEDIA_TIMEOUT_MS: '60000',
        ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
        QUEUE_PREFIX: `fair${process.pid}${Date.now().toString(36)}`,
      },
    });
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(owned.map((c) => c.close()));
    await sp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const from = (client: string) => ({ 'X-Forwarded-For': client });

  it('refuses a token guesser with 429 after AUTH_FAILURES_PER_MINUTE, logs it once, and nobody else', async () => {
    const guesses: string[] = [];
    const create = (token: string, client: string, id: string) =>
      fetch(`${sp.url}/api/presets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...from(client) },
        body: JSON.stringify({
          id,
          name: id,
          ladder: [{ width: 640, height: 360, fps: 30, videoBitrateKbps: 800 }],
        }),
      });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 40; i++) {
      const guess = `guess-${i}-${Math.random().toString(36).slice(2)}`;
      guesses.push(guess);
      const res = await create(guess, '198.51.100.7', 'guessed');
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    // The right token does not help the guesser this minute; another client is untouched.
    expect((await create(API_TOKEN, '198.51.100.7', 'guessed')).status).toBe(429);
    expect((await create(API_TOKEN, '198.51.100.8', 'honest')).status).toBe(201);
    expect((await create('wrong-once', '198.51.100.9', 'other')).status).toBe(401);

    const lines = await waitFor(
      'the warning line',
      async () => {
        const found = sp.output
          .join('')
          .split('\n')
          .filter((l) => l.includes('too many failed authentications'));
        return found.length > 0 ? found : null;
      },
      5000,
      100,
    );
    await new Promise((r) => setTimeout(r, 300));
    const all = sp.output.join('');
    expect(all.split('\n').filter((l) => l.includes('too many failed authentications'))).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, client: '198.51.100.7', failures: 5 });
    for (const g of guesses) expect(all).not.toContain(g);
    expect(all).not.toContain(API_TOKEN);
  });

  const whip = (stream: string, client: string) =>
    fetch(`${sp.url}/whip/${stream}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/sdp',
        Authorization: `Bearer ${PUBLISH_TOKEN}`,
        ...from(client),
      },
      body: sdpFixture('obs'),
    });

  it('caps publish sessions per client (429, Retry-After), others publish, and a slot comes back', async () => {
    const a1 = await whip('fair-a1', '198.51.100.1');
    expect(a1.status).toBe(201);
    const a2 = await whip('fair-a2', '198.51.100.1');
    expect(a2.status).toBe(429);
    expect(a2.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(a2.headers.get('retry-after')).toBe('5');
    expect(await a2.text()).toMatch(/MAX_PUBLISHES_PER_CLIENT/);
    const b = await whip('fair-b', '198.51.100.2');
    expect(b.status).toBe(201);
    // Nothing of the refused publish exists.
    expect((await fetch(`${sp.url}/api/streams/fair-a2`)).status).toBe(404);
    const del = await fetch(new URL(a1.headers.get('location')!, sp.url), {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${PUBLISH_TOKEN}` },
    });
    expect(del.status).toBe(200);
    const a3 = await whip('fair-a2', '198.51.100.1');
    expect(a3.status).toBe(201);
    for (const r of [b, a3]) {
      await fetch(new URL(r.headers.get('location')!, sp.url), {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${PUBLISH_TOKEN}` },
      });
    }
  });

  it('caps viewer sessions per client (429, Retry-After), others play', async () => {
    const publisher = await WhipTestClient.publish({
      url: `${sp.url}/whip/fair-cam`,
      token: PUBLISH_TOKEN,
      headers: from('198.51.100.50'),
      width: 320,
      height: 180,
      fps: 15,
      gop: 15,
      x264Preset: 'ultrafast',
      seconds: 60,
    });
    owned.push(publisher);
    await waitFor(
      'the stream to be live with its H.264 profile known',
      async () => {
        const res = await fetch(`${sp.url}/api/streams/fair-cam`);
        if (!res.ok) return null;
        const s = (await res.json()) as { ingest?: { video?: { profileLevelId?: string } | null } | null };
        return s.ingest?.video?.profileLevelId ?? null;
      },
      20_000,
    );
    const offerer = await WhepTestClient.create({ url: `${sp.url}/whep/fair-cam` });
    owned.push(offerer);
    const offer = await offerer.offer();
    const viewers: Response[] = [];
    const play = async (client: string) => {
      const res = await offerer.post(offer, from(client));
      viewers.push(res);
      return res;
    };
    expect((await play('198.51.100.1')).status).toBe(201);
    const over = await play('198.51.100.1');
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('5');
    expect(await over.text()).toMatch(/MAX_VIEWERS_PER_CLIENT/);
    expect((await play('198.51.100.2')).status).toBe(201);
    for (const r of viewers.filter((v) => v.status === 201)) {
      await fetch(new URL(r.headers.get('location')!, sp.url), { method: 'DELETE' });
    }
  }, 60_000);
});

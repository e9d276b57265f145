import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { clientResolver } from '../../src/core/client-address.js';
import { createOriginHttp } from '../../src/origin/http.js';
import { LiveOrigin } from '../../src/origin/live-origin.js';
import { LocalLiveBus } from '../../src/packager/live/bus.js';
import { partName } from '../../src/packager/names.js';
import { get } from '../helpers/http-get.js';
import { publishParts, TimelineFeed } from '../helpers/live-timeline-feed.js';
import { MemoryStorage } from '../helpers/memory-storage.js';

/**
 * Issue 12, "one client can use the whole held-request budget": a client flooding blocking
 * reloads gets 429 with Retry-After past its own cap while another viewer's reload is held
 * and answered as usual. Both ways a request reaches the origin: express's router alone,
 * and the fast lane in front of it, as the service runs it. Clients are told apart by their
 * source address (127.0.0.2 floods, 127.0.0.3 watches), or by X-Forwarded-For behind a
 * trusted proxy.
 */
describe.each([
  ['through express', false],
  ['through the fast lane', true],
] as const)('held requests per client, %s', (_label, withLane) => {
  const MAX_PER_CLIENT = 4;
  const storage = new MemoryStorage();
  const bus = new LocalLiveBus();
  const origin = new LiveOrigin({ bus, maxHeld: 100, maxHeldPerClient: MAX_PER_CLIENT });
  const v = new TimelineFeed({ rendition: 'v', windowSegments: 10 });
  const servers: http.Server[] = [];

  const parts = (n: number) => publishParts({ feed: v, storage, bus, streamId: 'cam' }, n);

  /** An origin server as the service mounts it, telling clients apart by `trust`. */
  async function serve(trust: Parameters<typeof clientResolver>[0]): Promise<number> {
    const app = express();
    const o = createOriginHttp({ storage, origin, clientOf: clientResolver(trust) });
    app.use('/hls', o.router);
    const lane = withLane ? o.lane : null;
    const server = http.createServer((req, res) => {
      if (!lane?.(req, res)) app(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return (server.address() as AddressInfo).port;
  }

  let port: number;
  let proxied: number;

  beforeAll(async () => {
    v.beginRun();
    await parts(6);
    port = await serve(null);
    proxied = await serve({ hops: 1 });
  });
  afterAll(async () => {
    await origin.close();
    await bus.close();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  const next = () => {
    const s = v.t.state;
    return `/hls/cam/v.m3u8?_HLS_msn=${s.open!.msn}&_HLS_part=${s.open!.parts.length}`;
  };

  it('answers a flooding client 429 past its cap, and holds and answers another client as usual', async () => {
    const ac = new AbortController();
    const flood = Array.from({ length: MAX_PER_CLIENT }, () =>
      get(port, next(), { localAddress: '127.0.0.2', signal: ac.signal }).catch(() => null),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(origin.held).toBe(MAX_PER_CLIENT);
    const over = await get(port, next(), { localAddress: '127.0.0.2' });
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('1');
    expect(JSON.parse(over.body.toString())).toMatchObject({
      error: { code: 'too_many_requests', message: expect.stringMatching(/MAX_HELD_PER_CLIENT/) },
    });
    expect(over.ms).toBeLessThan(300);
    // A preload-hinted part the flooder asks for is refused the same way.
    const s = v.t.state;
    const hinted = await get(port, `/hls/cam/${partName('v', s.open!.msn, s.open!.parts.length)}`, {
      localAddress: '127.0.0.2',
    });
    expect(hinted.status).toBe(429);

    const watcher = get(port, next(), { localAddress: '127.0.0.3' });
    await new Promise((r) => setTimeout(r, 100));
    expect(origin.held).toBe(MAX_PER_CLIENT + 1);
    await parts(1);
    const answered = await watcher;
    expect(answered.status).toBe(200);
    expect(answered.body.toString()).toContain('#EXTM3U');
    ac.abort();
    await Promise.all(flood);
  });

  it('behind a trusted proxy, tells clients apart by X-Forwarded-For', async () => {
    const ac = new AbortController();
    const xff = (a: string) => ({ 'X-Forwarded-For': a });
    const flood = Array.from({ length: MAX_PER_CLIENT }, () =>
      get(proxied, next(), { headers: xff('198.51.100.7'), signal: ac.signal }).catch(() => null),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect((await get(proxied, next(), { headers: xff('198.51.100.7') })).status).toBe(429);
    const other = get(proxied, next(), { headers: xff('198.51.100.8') });
    await new Promise((r) => setTimeout(r, 100));
    await parts(1);
    expect((await other).status).toBe(200);
    ac.abort();
    await Promise.all(flood);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestService } from '../helpers/service.js';
import { WhepTestClient } from '../helpers/whep-client.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const candidates = (sdp: string) =>
  sdp
    .split('\r\n')
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.split(' '));

/**
 * Behind Docker's published ports or 1:1 NAT: peers bind ICE_PORT_RANGE only, and answers
 * announce ICE_PUBLIC_ADDRESSES beside the private host candidates. Publishing and playing
 * still connect (here over the loopback candidate).
 */
describe('ICE_PORT_RANGE and ICE_PUBLIC_ADDRESSES', () => {
  let t: Started;
  const clients: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    t = await startTestService({ ICE_PORT_RANGE: '47100-47199', ICE_PUBLIC_ADDRESSES: '198.51.100.7' });
  }, 30_000);
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await t?.close();
  });

  it('binds WHIP and WHEP peers in the range and announces the public address', async () => {
    const pub = await WhipTestClient.publish({ url: `${t.service.url}/whip/nat`, seconds: 8 });
    clients.push(pub);
    const viewer = await WhepTestClient.create({ url: `${t.service.url}/whep/nat` });
    clients.push(viewer);
    await viewer.play();
    for (const answer of [pub.answer, viewer.answer]) {
      const cands = candidates(answer);
      expect(cands.length).toBeGreaterThan(1);
      for (const c of cands) {
        const port = Number(c[5]);
        expect(port).toBeGreaterThanOrEqual(47100);
        expect(port).toBeLessThanOrEqual(47199);
      }
      const announced = cands.filter((c) => c[4] === '198.51.100.7');
      expect(announced.length).toBeGreaterThan(0);
      // Same ports as private host candidates: the port mapping forwards them unchanged.
      const privatePorts = new Set(cands.filter((c) => c[4] !== '198.51.100.7').map((c) => c[5]));
      for (const c of announced) expect(privatePorts.has(c[5])).toBe(true);
    }
    // Media flows through the range.
    const deadline = Date.now() + 10_000;
    while (viewer.video.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(viewer.video.length).toBeGreaterThanOrEqual(30);
  }, 60_000);

  it('answers 503 with Retry-After, not an answer without candidates, once the range is used up', async () => {
    const small = await startTestService({ ICE_PORT_RANGE: '47300-47303' });
    const open: Array<{ close(): Promise<void> }> = [];
    try {
      const pub = await WhipTestClient.publish({ url: `${small.service.url}/whip/full`, seconds: 8 });
      open.push(pub);
      const statuses: number[] = [];
      for (let i = 0; i < 8 && !statuses.includes(503); i++) {
        const v = await WhepTestClient.create({ url: `${small.service.url}/whep/full` });
        open.push(v);
        const res = await fetch(`${small.service.url}/whep/full`, {
          method: 'POST',
          headers: { 'content-type': 'application/sdp' },
          body: await v.offer(),
        });
        const body = await res.text();
        statuses.push(res.status);
        if (res.status === 201) expect(candidates(body).length).toBeGreaterThan(0);
        else {
          expect(res.status).toBe(503);
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(body).toMatch(/ICE_PORT_RANGE/);
        }
      }
      expect(statuses).toContain(503);
      // A publish finds the range used up the same way.
      await expect(
        WhipTestClient.publish({ url: `${small.service.url}/whip/second`, noMedia: true }),
      ).rejects.toThrow(/: 503 .*ICE_PORT_RANGE/);
    } finally {
      await Promise.allSettled(open.map((c) => c.close()));
      await small.close();
    }
  }, 60_000);
});

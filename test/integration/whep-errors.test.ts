import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WhepTestClient } from '../helpers/whep-client.js';
import { WhepTestServer } from '../helpers/whep-server.js';
import { WhipTestClient } from '../helpers/whip-client.js';

const TOKEN = 'view-token-0123456789abc';
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await delay(100);
}

describe('WHEP refuses bad input, and bad input changes nothing', () => {
  let server: WhepTestServer;
  let publisher: WhipTestClient;
  /** A real werift viewer offer (recvonly H.264 x3 + Opus, with candidates). */
  let OFFER: string;
  const owned: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    server = await WhepTestServer.start({ viewToken: TOKEN, maxViewersPerStream: 1 });
    // Real media (ffmpeg H.264 + Opus), so the stream's codecs are known when offers are checked.
    publisher = await WhipTestClient.publish({ url: server.whipUrl('live'), seconds: 120, gop: 30 });
    owned.push(publisher);
    await until(() => (server.publisher('live')?.video?.profileLevelId ?? '') !== '', 20_000);
    expect(server.publisher('live')?.video?.codec).toBe('h264');
    const offerer = await WhepTestClient.create({ url: server.whepUrl('live'), token: TOKEN });
    owned.push(offerer);
    OFFER = await offerer.offer();
  }, 60_000);
  afterEach(() => {
    // Nothing counted, nothing left behind.
    expect(server.whep.viewers('live')).toBe(0);
    expect(server.whep.viewers('offline')).toBe(0);
    expect(server.whep.stats('offline')).toBeNull();
  });
  afterAll(async () => {
    await Promise.all(owned.splice(0).map((c) => c.close()));
    await server.close();
  });

  const post = (body: string, headers: Record<string, string> = {}, path = '/whep/live') =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${TOKEN}`, ...headers },
      body,
    });

  async function expectPlain(res: Response, status: number, text?: RegExp): Promise<string> {
    const body = await res.text();
    expect({ status: res.status, body }).toMatchObject({ status });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('location')).toBeNull();
    if (text) expect(body).toMatch(text);
    return body;
  }

  it('OPTIONS answers with Accept-Post, CORS and the ICE servers, without a token', async () => {
    const res = await fetch(`${server.url}/whep/live`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('accept-post')).toBe('application/sdp');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Content-Type/);
    expect(res.headers.get('access-control-expose-headers')).toMatch(/Location/);
    expect(res.headers.get('link')).toMatch(/<stun:stun\.example\.net:3478>; rel="ice-server"/);
    const session = await fetch(`${server.url}/whep/live/somesession`, { method: 'OPTIONS' });
    expect(session.status).toBe(204);
    expect(session.headers.get('accept-patch')).toBe('application/trickle-ice-sdpfrag');
    expect(session.headers.get('access-control-allow-methods')).toMatch(/PATCH/);
    expect(session.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
  });

  it('401 without the view token, or with a wrong one, with WWW-Authenticate', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-wrong-token', `Basic ${TOKEN}`, 'Bearer ']) {
      const res = await fetch(`${server.url}/whep/live`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...(auth ? { Authorization: auth } : {}) },
        body: OFFER,
      });
      await expectPlain(res, 401, /Bearer token/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const del = await fetch(`${server.url}/whep/live/somesession`, { method: 'DELETE' });
    await expectPlain(del, 401);
  });

  it('415 for a body that is not application/sdp', async () => {
    await expectPlain(await post(OFFER, { 'Content-Type': 'text/plain' }), 415, /application\/sdp/);
    await expectPlain(
      await post(JSON.stringify({ sdp: OFFER }), { 'Content-Type': 'application/json' }),
      415,
    );
  });

  it('413 for a body over 128 KiB', async () => {
    await expectPlain(await post(OFFER + `a=x-pad:${'x'.repeat(130 * 1024)}\r\n`), 413);
  });

  it('400 for what is not an SDP offer, or a bad stream id', async () => {
    await expectPlain(await post('this is not SDP'), 400);
    await expectPlain(await post(''), 400);
    await expectPlain(await post(OFFER.replace(/a=fingerprint:.*\r?\n/g, '')), 400, /fingerprint/);
    await expectPlain(await post(OFFER.replace(/a=mid:.*\r?\n/g, '')), 400, /a=mid/);
    await expectPlain(await post(OFFER, {}, '/whep/bad%20id'), 400, /stream id/);
  });

  it('406 for an offer that cannot take what is published, saying what it is; 422 for a sendonly one', async () => {
    const cases = [
      OFFER.replace(/H264\/90000/gi, 'AV1/90000'),
      OFFER.replace(/packetization-mode=1/g, 'packetization-mode=0'),
      OFFER.replace(/opus\/48000\/2/gi, 'PCMU/8000'),
    ];
    for (const offer of cases) await expectPlain(await post(offer), 406);
    await expectPlain(await post(cases[0]!), 406, /offered: AV1.*H\.264 packetization-mode=1/);
    await expectPlain(await post(cases[2]!), 406, /Opus 48000\/2/);
    await expectPlain(await post(OFFER.replace(/a=recvonly/g, 'a=sendonly')), 422, /recvonly/);
  });

  it('409 with Retry-After for a stream that is not live', async () => {
    const res = await post(OFFER, {}, '/whep/offline');
    await expectPlain(res, 409, /not live/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('404 for a session that does not exist, on PATCH and DELETE', async () => {
    const fragment = 'a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n';
    const patch = await fetch(`${server.url}/whep/live/nosuchsession`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', Authorization: `Bearer ${TOKEN}` },
      body: fragment,
    });
    await expectPlain(patch, 404);
    const del = await fetch(`${server.url}/whep/live/nosuchsession`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    await expectPlain(del, 404);
  });

  it('405 for methods a WHEP URL does not take', async () => {
    const res = await fetch(`${server.url}/whep/live`, { method: 'GET' });
    await expectPlain(res, 405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('503 with Retry-After over MAX_VIEWERS_PER_STREAM; the viewer count stays at the cap', async () => {
    const first = await WhepTestClient.create({ url: server.whepUrl('live'), token: TOKEN });
    owned.push(first);
    await first.play();
    expect(server.whep.viewers('live')).toBe(1);
    const second = await WhepTestClient.create({ url: server.whepUrl('live'), token: TOKEN });
    owned.push(second);
    const res = await second.post(await second.offer());
    await expectPlain(res, 503, /most viewers/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(server.whep.viewers('live')).toBe(1);
    expect((await first.delete()).status).toBe(200);
    await until(() => server.whep.viewers('live') === 0, 5_000);
  });
});

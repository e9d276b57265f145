import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { LiveSource } from '../../src/live/index.js';
import { sdpFixture } from '../helpers/sdp-fixtures.js';
import { WhipTestServer } from '../helpers/whip-server.js';

const TOKEN = 'publish-token-0123456789';
const OBS = sdpFixture('obs');

describe('WHIP refuses bad input, and bad input changes nothing', () => {
  let server: WhipTestServer;
  const created: LiveSource[] = [];
  const lived: string[] = [];

  beforeAll(async () => {
    server = await WhipTestServer.start({ publishToken: TOKEN, onStreamLive: (id) => lived.push(id) });
    server.onSession((s) => created.push(s));
  });
  afterEach(() => {
    expect(created).toEqual([]);
    expect(lived).toEqual([]);
    expect(server.views.list()).toEqual([]);
  });
  afterAll(async () => {
    await server.close();
  });

  const post = (body: string, headers: Record<string, string> = {}, path = '/whip/cam') =>
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
    if (text) expect(body).toMatch(text);
    return body;
  }

  it('401 without the token, or with a wrong one, with WWW-Authenticate', async () => {
    for (const auth of [undefined, 'Bearer wrong-token-wrong-token', `Basic ${TOKEN}`]) {
      const res = await fetch(`${server.url}/whip/cam`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...(auth ? { Authorization: auth } : {}) },
        body: OBS,
      });
      await expectPlain(res, 401, /Bearer token/);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('415 for a body that is not application/sdp', async () => {
    await expectPlain(await post(OBS, { 'Content-Type': 'text/plain' }), 415, /application\/sdp/);
    await expectPlain(await post(JSON.stringify({ sdp: OBS }), { 'Content-Type': 'application/json' }), 415);
  });

  it('413 for a body over 128 KiB', async () => {
    await expectPlain(await post(OBS + `a=x-pad:${'x'.repeat(130 * 1024)}\r\n`), 413);
  });

  it('400 for what is not an SDP offer, a bad stream id or a bad preset', async () => {
    await expectPlain(await post('this is not SDP'), 400, /line 1/);
    await expectPlain(await post(''), 400);
    await expectPlain(await post(OBS.replace(/a=ice-ufrag:.*\r\n/g, '')), 400, /ice-ufrag/);
    await expectPlain(await post(OBS, {}, '/whip/bad%20id'), 400, /stream id/);
    await expectPlain(await post(OBS, {}, '/whip/cam?preset=Not_Valid!'), 400, /preset/);
  });

  it('422 for codecs or m-lines ingest does not take, saying what it does take', async () => {
    const cases = [
      OBS.replace('packetization-mode=1', 'packetization-mode=0'),
      OBS.replace('H264/90000', 'H263/90000'),
      OBS.replace('opus/48000/2', 'PCMU/8000'),
      `${OBS}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n`,
      `${OBS}${OBS.slice(OBS.indexOf('m=audio'), OBS.indexOf('m=video')).replace('a=mid:0', 'a=mid:2')}`,
    ];
    for (const offer of cases)
      await expectPlain(await post(offer), 422, /supported: video H\.264|data channels/);
    await expectPlain(await post(cases[0]!), 422, /H\.265 .*AV1, VP8 or VP9 \(profile 0\).*; audio Opus/);
  });

  it('404 for a session that does not exist, on PATCH and DELETE', async () => {
    const fragment = 'a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n';
    const patch = await fetch(`${server.url}/whip/cam/nosuchsession`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', Authorization: `Bearer ${TOKEN}` },
      body: fragment,
    });
    await expectPlain(patch, 404);
    const del = await fetch(`${server.url}/whip/cam/nosuchsession`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    await expectPlain(del, 404);
  });

  it('405 for methods a WHIP URL does not take', async () => {
    const res = await fetch(`${server.url}/whip/cam`, { method: 'GET' });
    await expectPlain(res, 405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });
});

describe('PATCH preconditions (RFC 9725 4.3)', () => {
  let server: WhipTestServer;
  let location: string;
  let etag: string;

  beforeAll(async () => {
    server = await WhipTestServer.start();
    const res = await fetch(server.whipUrl('patchme'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: OBS,
    });
    expect(res.status).toBe(201);
    location = new URL(res.headers.get('location')!, server.url).toString();
    etag = res.headers.get('etag')!;
  });
  afterAll(async () => {
    await server.close();
  });

  const patch = (
    body: string,
    headers: Record<string, string> = {},
    type = 'application/trickle-ice-sdpfrag',
  ) => fetch(location, { method: 'PATCH', headers: { 'Content-Type': type, ...headers }, body });
  const RESTART =
    'a=ice-ufrag:nEwU\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n';
  const TRICKLE =
    'a=ice-ufrag:E/Sf\r\na=ice-pwd:l1Sixcwzip7o3/zBKI/D6O\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n' +
    'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n';

  it('428 for an ICE restart without If-Match, 412 for one with a stale ETag', async () => {
    const missing = await patch(RESTART);
    expect(missing.status).toBe(428);
    expect(await missing.text()).toMatch(/If-Match/);
    const stale = await patch(RESTART, { 'If-Match': '"not-the-etag"' });
    expect(stale.status).toBe(412);
  });

  it('204 for trickled candidates; 412 when they carry a stale ETag', async () => {
    expect((await patch(TRICKLE)).status).toBe(204);
    expect((await patch(TRICKLE, { 'If-Match': etag })).status).toBe(204);
    expect((await patch(TRICKLE, { 'If-Match': '"old"' })).status).toBe(412);
  });

  it('415 and 400 for fragments that are not trickle-ice-sdpfrag', async () => {
    expect((await patch(TRICKLE, {}, 'application/sdp')).status).toBe(415);
    expect((await patch('a=candidate:broken', {})).status).toBe(400);
  });

  it('the session survives all of that', () => {
    expect(server.views.get('patchme')?.state).toBe('live');
  });
});

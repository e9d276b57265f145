import { afterEach, describe, expect, it } from '@jest/globals';
import type { LiveSource } from '../../src/live/index.js';
import { WhipTestServer, type WhipTestServerOptions } from '../helpers/whip-server.js';
import { sdpFixture } from '../helpers/sdp-fixtures.js';
import { WhipTestClient } from '../helpers/whip-client.js';

const OBS = sdpFixture('obs');
const CHROMIUM = sdpFixture('chromium');

interface Events {
  live: [string, string | undefined][];
  ended: string[];
  sessions: LiveSource[];
  endReasons: Map<string, string>;
}

/** A server whose hooks record what happened. */
async function start(opts: WhipTestServerOptions = {}): Promise<{ server: WhipTestServer; ev: Events }> {
  const ev: Events = { live: [], ended: [], sessions: [], endReasons: new Map() };
  const server = await WhipTestServer.start({
    ...opts,
    onStreamLive: (id, preset) => ev.live.push([id, preset]),
    onStreamEnded: (id) => ev.ended.push(id),
  });
  server.onSession((s) => {
    ev.sessions.push(s);
    s.onEnd((reason) => ev.endReasons.set(s.sessionId, reason));
  });
  return { server, ev };
}

async function post(server: WhipTestServer, stream: string, offer = OBS, query = '') {
  const res = await fetch(server.whipUrl(stream, query), {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp' },
    body: offer,
  });
  const body = await res.text();
  return { status: res.status, body, location: res.headers.get('location') ?? '' };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await delay(50);
}

describe('publish session lifecycle', () => {
  const servers: WhipTestServer[] = [];
  const clients: WhipTestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const server = async (opts: WhipTestServerOptions = {}) => {
    const s = await start(opts);
    servers.push(s.server);
    return s;
  };

  it('a second publish takes over: the first ends with reason takeover, the stream stays live', async () => {
    const { server: srv, ev } = await server();
    const first = await post(srv, 'cam', OBS, '?preset=low-latency');
    expect(first.status).toBe(201);
    const second = await post(srv, 'cam', CHROMIUM, '?preset=light');
    expect(second.status).toBe(201);
    const [a, b] = ev.sessions;
    expect(a!.ended).toBe(true);
    expect(ev.endReasons.get(a!.sessionId)).toBe('takeover');
    expect(srv.streams.get('cam')?.source ?? null).toBe(b);
    expect(b!.ended).toBe(false);
    // Live once, with the preset it went live with; not ended by the takeover, which
    // named another preset: the stream goes on with that one.
    expect(ev.live).toEqual([['cam', 'low-latency']]);
    expect(ev.ended).toEqual([]);
    expect(srv.views.get('cam')).toMatchObject({
      state: 'live',
      presetId: 'light',
      ingest: { sessionId: b!.sessionId },
    });
    // The old session URL is gone.
    const del = await fetch(new URL(first.location, srv.url), { method: 'DELETE' });
    expect(del.status).toBe(404);
  });

  it('a refused publish to a live stream leaves its session alone', async () => {
    const { server: srv, ev } = await server();
    expect((await post(srv, 'cam')).status).toBe(201);
    expect((await post(srv, 'cam', OBS.replace('H264/90000', 'H263/90000'))).status).toBe(422);
    expect((await post(srv, 'cam', 'v=0\r\nbroken')).status).toBe(400);
    expect(ev.sessions).toHaveLength(1);
    expect(ev.sessions[0]!.ended).toBe(false);
    expect(srv.streams.get('cam')?.source ?? null).toBe(ev.sessions[0]);
  });

  it('with TAKEOVER=reject a second publish gets 409 and the first goes on', async () => {
    const { server: srv, ev } = await server({ takeover: 'reject' });
    expect((await post(srv, 'cam')).status).toBe(201);
    const second = await post(srv, 'cam', CHROMIUM);
    expect(second.status).toBe(409);
    expect(second.body).toMatch(/already being published/);
    expect(ev.sessions).toHaveLength(1);
    expect(ev.sessions[0]!.ended).toBe(false);
    expect((await post(srv, 'other')).status).toBe(201); // other streams are not affected
  });

  it('DELETE ends the session and the stream', async () => {
    const { server: srv, ev } = await server();
    const { location } = await post(srv, 'cam');
    const res = await fetch(new URL(location, srv.url), { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(ev.endReasons.get(ev.sessions[0]!.sessionId)).toBe('deleted');
    expect(ev.ended).toEqual(['cam']);
    expect(srv.streams.get('cam')?.source ?? null).toBeNull();
    expect(srv.views.get('cam')).toMatchObject({ state: 'ended', endedAt: expect.any(String) });
    expect(srv.views.list().map((s) => s.state)).toEqual(['ended']);
    expect((await fetch(new URL(location, srv.url), { method: 'DELETE' })).status).toBe(404);
  });

  it('a session that never gets media ends after MEDIA_TIMEOUT_MS', async () => {
    const { server: srv, ev } = await server({ mediaTimeoutMs: 800 });
    expect((await post(srv, 'silent', CHROMIUM)).status).toBe(201); // its candidates lead nowhere
    await until(() => ev.ended.length > 0, 15_000);
    expect(ev.endReasons.get(ev.sessions[0]!.sessionId)).toBe('media-timeout');
    expect(ev.ended).toEqual(['silent']);
  });

  it('a session ends when its media stops for MEDIA_TIMEOUT_MS', async () => {
    // Long enough that a loaded machine's handshake does not time the session out first.
    const { server: srv, ev } = await server({ mediaTimeoutMs: 3000 });
    const client = await WhipTestClient.publish({
      url: srv.whipUrl('stops'),
      audio: false,
      width: 320,
      height: 180,
    });
    clients.push(client);
    const s = ev.sessions[0]!;
    let frames = 0;
    s.onFrame(() => frames++);
    await until(() => frames >= 20, 15_000);
    expect(frames).toBeGreaterThanOrEqual(20);
    await client.stopMedia(); // the connection stays up (consent checks go on), the media stops
    const stoppedAt = Date.now();
    await until(() => s.ended, 15_000);
    expect(ev.endReasons.get(s.sessionId)).toBe('media-timeout');
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(2000);
  });

  it('close() ends every session with reason shutdown', async () => {
    const { server: srv, ev } = await server();
    await post(srv, 'a');
    await post(srv, 'b', CHROMIUM);
    await srv.close();
    expect([...ev.endReasons.values()]).toEqual(['shutdown', 'shutdown']);
    expect(ev.ended.sort()).toEqual(['a', 'b']);
    await srv.close(); // idempotent
  });
});

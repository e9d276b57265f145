import { applyIceRestart, iceRestartFragment } from '../helpers/ice-restart.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { MediaFrame } from '../../src/core/media.js';
import type { LiveSource } from '../../src/live/index.js';
import { h264NalType, splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { parseH264Sps } from '../../src/core/codecs/h264-sps.js';
import { WhipTestClient, type WhipClientOptions } from '../helpers/whip-client.js';
import { WhipTestServer } from '../helpers/whip-server.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Collected {
  source: LiveSource;
  video: MediaFrame[];
  audio: MediaFrame[];
}

/** Subscribes to the stream's session as soon as it becomes current (before any media). */
function collect(server: WhipTestServer, streamId: string): Promise<Collected> {
  return new Promise((resolve) => {
    const off = server.onSession((source) => {
      if (source.streamId !== streamId) return;
      off();
      const c: Collected = { source, video: [], audio: [] };
      source.onFrame((f) => (f.kind === 'video' ? c.video : c.audio).push(f));
      resolve(c);
    });
  });
}

function expectIncreasing(frames: readonly MediaFrame[]): void {
  for (let i = 1; i < frames.length; i++) expect(frames[i]!.timeUs).toBeGreaterThan(frames[i - 1]!.timeUs);
}

/** Polls until `check` holds or `ms` passed. */
async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await delay(100);
}

describe('WHIP publish with real media (werift client, ffmpeg encoder)', () => {
  let server: WhipTestServer;
  const clients: WhipTestClient[] = [];
  const publish = async (opts: WhipClientOptions) => {
    const c = await WhipTestClient.publish(opts);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    server = await WhipTestServer.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await server.close();
  });

  it('turns H.264 High + Opus into frames on one clock', async () => {
    const collected = collect(server, 'h264cam');
    // Offered as OBS does (profile-level-id 42e01f), encoded as High; no candidates in the offer.
    const client = await publish({ url: server.whipUrl('h264cam'), seconds: 8 });
    console.log(`POST → 201 with a werift offer: ${client.postMs.toFixed(0)} ms`);
    const c = await collected;
    await until(() => c.video.length >= 90 && c.audio.length >= 150, 20_000);
    const { video, audio } = c;
    expect(video.length).toBeGreaterThanOrEqual(90);
    expect(audio.length).toBeGreaterThanOrEqual(150);

    expect(video[0]!.keyframe).toBe(true);
    const sps = splitAnnexB(video[0]!.data).find((n) => h264NalType(n) === 7);
    expect(parseH264Sps(sps!)).toMatchObject({ profile: 'High', width: 640, height: 360 });
    expect(c.source.video).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(c.source.video?.profileLevelId).toMatch(/^64/);
    expect(c.source.audio).toEqual({ codec: 'opus', sampleRate: 48000, channels: 2 });
    expect(video.every((f) => f.codec === 'h264') && audio.every((f) => f.codec === 'opus')).toBe(true);
    // Every IDR carries its parameter sets.
    for (const f of video.filter((v) => v.keyframe)) {
      expect(splitAnnexB(f.data).map(h264NalType)).toEqual(expect.arrayContaining([7, 8, 5]));
    }
    expectIncreasing(video);
    expectIncreasing(audio);
    expect(Math.abs(video[0]!.timeUs - audio[0]!.timeUs)).toBeLessThan(200_000);
    // Media time follows arrival: the last frames of both tracks are close in time too.
    expect(Math.abs(video.at(-1)!.timeUs - audio.at(-1)!.timeUs)).toBeLessThan(300_000);

    const view = server.views.get('h264cam');
    console.log('ingest stats', JSON.stringify(view?.ingest));
    expect(view).toMatchObject({ state: 'live', playlistUrl: '/hls/h264cam/index.m3u8' });
    expect(view?.ingest?.video).toMatchObject({ codec: 'h264', width: 640, height: 360, profile: 'High' });
    expect(view?.ingest?.video?.fps).toBeGreaterThan(0);
    expect(view?.ingest?.video?.bitrateKbps).toBeGreaterThan(0);
    expect(view?.ingest?.video?.plisSent).toBeGreaterThanOrEqual(1); // asked for a key frame at start
    expect(view?.ingest?.video?.keyframeIntervalMs).toBeGreaterThan(500); // -g 30 at 30 fps: 1 s
    expect(view?.ingest?.audio?.bitrateKbps).toBeGreaterThan(0);
  });

  it('takes VP8, with key frame sizes from the frame header', async () => {
    const collected = collect(server, 'vp8cam');
    await publish({ url: server.whipUrl('vp8cam'), video: 'vp8', seconds: 8 });
    const c = await collected;
    await until(() => c.video.length >= 45 && c.audio.length >= 50, 20_000);
    expect(c.video[0]!.keyframe).toBe(true);
    expect(c.video.every((f) => f.codec === 'vp8')).toBe(true);
    expect(c.source.video).toMatchObject({ codec: 'vp8', width: 640, height: 360 });
    expect(c.audio.length).toBeGreaterThanOrEqual(50);
    expectIncreasing(c.video);
  });

  it('takes VP9', async () => {
    const collected = collect(server, 'vp9cam');
    await publish({
      url: server.whipUrl('vp9cam'),
      video: 'vp9',
      audio: false,
      width: 320,
      height: 180,
      seconds: 8,
    });
    const c = await collected;
    await until(() => c.video.length >= 30, 20_000);
    expect(c.video[0]!.keyframe).toBe(true);
    expect(c.source.video).toMatchObject({ codec: 'vp9', width: 320, height: 180 });
    expect(c.source.audio).toBeNull();
  });

  it('recovers lost packets with NACK (and key frames where that is not enough)', async () => {
    const collected = collect(server, 'lossy');
    await publish({ url: server.whipUrl('lossy'), audio: false, outboundLossPercent: 3, seconds: 8 });
    const c = await collected;
    await until(() => c.video.length >= 90, 20_000);
    const stats = server.views.get('lossy')?.ingest?.video;
    console.log('with 3% loss', JSON.stringify(stats));
    expect(stats?.nacksSent).toBeGreaterThan(0);
    expect(c.video.length).toBeGreaterThanOrEqual(90);
    // Retransmissions fill most gaps: far fewer packets stay lost than the 3% the client dropped.
    expect(stats!.packetsLost).toBeLessThan(stats!.packetsReceived * 0.03);
    expectIncreasing(c.video);
  });

  it('restarts ICE on a PATCH with new credentials, and the media goes on', async () => {
    const collected = collect(server, 'restart');
    const client = await publish({ url: server.whipUrl('restart'), audio: false, seconds: 10 });
    const c = await collected;
    await until(() => c.video.length >= 30, 15_000);
    const before = c.video.length;

    // The client's side of the restart: new credentials in a fragment of the bundle's m-line.
    const fragment = await iceRestartFragment(client.pc);
    const res = await fetch(client.location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': client.etag },
      body: fragment,
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/trickle-ice-sdpfrag/);
    expect(res.headers.get('etag')).toMatch(/^".+"$/);
    expect(res.headers.get('etag')).not.toBe(client.etag);
    const lines = body.split('\r\n');
    const ufrag = lines.find((l) => l.startsWith('a=ice-ufrag:'))!;
    const candidates = lines.filter((l) => l.startsWith('a=candidate:'));
    expect(candidates.length).toBeGreaterThan(0);
    expect(ufrag).not.toBe(client.answer.split('\r\n').find((l) => l.startsWith('a=ice-ufrag:')));

    await applyIceRestart(client.pc, body);

    await until(() => c.video.length >= before + 45, 15_000);
    expect(c.video.length).toBeGreaterThanOrEqual(before + 45);
    expect(c.source.ended).toBe(false);
  });
});

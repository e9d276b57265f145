import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/core/log.js';
import type { MediaFrame, VideoCodec } from '../../src/core/media.js';
import { RelayBody } from '../../src/live/relay/body.js';
import { FakeFrameSource, FakeFrameSources } from '../helpers/fake-frame-source.js';
import { interleave, makeFrames, type Frames } from '../helpers/media-frames.js';
import { getRecorded, startRelayApp, type RecordedResponse } from '../helpers/relay-app.js';
import { waitFor } from '../helpers/service-process.js';

const run = promisify(execFile);
const TOKEN = 'relay-test-token-0123456789';
const OPUS = { codec: 'opus' as const, sampleRate: 48000 as const, channels: 2 as const };

/**
 * The relay over real HTTP on 127.0.0.1: frames that ffmpeg encoded (H.264 High 640x360,
 * VP8, VP9, Opus) go in through a fake LiveSource, Matroska comes out, and ffprobe and
 * ffmpeg must read it with the right codecs and timestamps.
 */
describe('relay over HTTP', () => {
  let dir: string;
  const sources = new FakeFrameSources();
  let app: Awaited<ReturnType<typeof startRelayApp>>;
  const frames: Partial<Record<VideoCodec, Frames>> = {};
  const open: RecordedResponse[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-relay-'));
    app = await startRelayApp(sources);
    // Two key frames a second, so a body starts soon wherever it joins.
    for (const video of ['h264', 'vp8', 'vp9'] as const) {
      frames[video] = await makeFrames(dir, { video, seconds: 3, audio: true, gop: 15 });
    }
  }, 60_000);

  afterEach(() => {
    for (const r of open.splice(0)) r.close();
    sources.closeAll();
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function publish(streamId: string, video: VideoCodec | null): FakeFrameSource {
    const s = new FakeFrameSource({
      streamId,
      video: video === null ? null : { codec: video, width: null, height: null },
      audio: OPUS,
    });
    sources.publish(s);
    app.relay.authorize(streamId, TOKEN);
    return s;
  }

  async function get(stream: string, token: string | null = TOKEN): Promise<RecordedResponse> {
    const r = await getRecorded(app.url(stream), token);
    open.push(r);
    return r;
  }

  it('answers 404 JSON when the stream has no session, else 401 without one of its tokens', async () => {
    publish('auth', 'h264');
    expect((await get('auth', null)).status).toBe(401);
    const wrong = await get('auth', 'relay-test-token-wrong-0000000');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('Bearer');
    // Live, but nobody authorized it: 401 whatever the token.
    sources.publish(new FakeFrameSource({ streamId: 'nobody', video: null, audio: OPUS }));
    expect((await get('nobody')).status).toBe(401);
    // Not live: 404 (liveness is public), with or without a token.
    app.relay.authorize('gone', TOKEN);
    expect((await get('gone', null)).status).toBe(404);
    const gone = await get('gone');
    expect(gone.status).toBe(404);
    await gone.done;
    expect(gone.headers['content-type']).toContain('application/json');
    const body = JSON.parse(Buffer.concat(gone.chunks.map((c) => c.data)).toString()) as {
      error: { code: string };
    };
    expect(body.error.code).toBe('not_found');
    expect(() => app.relay.authorize('x', 'short')).toThrow();
  });

  it('?layers=all: one H.264 track per encoding with X-Whipcast-Layers; 409 with the reason for VP8; 400 for another value', async () => {
    const h264 = publish('pass', 'h264');
    h264.play(interleave(frames.h264!), { loop: true });
    const bad = await get('pass?layers=some');
    expect(bad.status).toBe(400);
    const r = await get('pass?layers=all');
    expect(r.status).toBe(200);
    expect(r.headers['x-whipcast-layers']).toBe('-:640x360:-:-');
    expect(r.headers['x-whipcast-tracks']).toBe('video=h264,audio=opus');

    const vp8 = publish('passvp8', 'vp8');
    vp8.play(interleave(frames.vp8!), { loop: true });
    const refused = await get('passvp8?layers=all');
    expect(refused.status).toBe(409);
    await refused.done;
    const body = JSON.parse(Buffer.concat(refused.chunks.map((c) => c.data)).toString()) as {
      error: { code: string; message: string };
    };
    expect(body.error).toEqual({
      code: 'conflict',
      message: 'vp8 cannot be passed through: only H.264 is packaged as it is received',
    });
    expect(app.relay.openBodies).toBe(1);
  });

  it('keeps earlier tokens valid when a stream is authorized again; revoke forgets them all', () => {
    app.relay.authorize('multi', 'first-token-0123456789');
    app.relay.authorize('multi', 'second-token-0123456789');
    expect(app.relay.verify('multi', 'first-token-0123456789')).toBe(true);
    expect(app.relay.verify('multi', 'second-token-0123456789')).toBe(true);
    expect(app.relay.verify('multi', 'third-token-0123456789')).toBe(false);
    expect(app.relay.verify('other', 'first-token-0123456789')).toBe(false);
    for (let i = 0; i < 16; i++) app.relay.authorize('multi', `later-token-${i}-0123456789`);
    expect(app.relay.verify('multi', 'first-token-0123456789')).toBe(false);
    expect(app.relay.verify('multi', 'later-token-15-0123456789')).toBe(true);
    app.relay.revoke('multi');
    expect(app.relay.verify('multi', 'later-token-15-0123456789')).toBe(false);
  });

  it.each(['h264', 'vp8', 'vp9'] as const)(
    '%s + Opus: starts at a key frame, rebased to 0, readable by ffmpeg, frame by frame',
    async (video) => {
      const f = frames[video]!;
      const source = publish(`relay-${video}`, video);
      // Join mid-GOP: the first frames are inter frames, which the body must skip.
      const all = interleave(f).filter((fr) => fr.timeUs >= 200_000);
      const emitted: { frame: MediaFrame; at: number }[] = [];
      source.play(all, { onEmit: (frame, at) => emitted.push({ frame, at }) });
      const res = await get(`relay-${video}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('video/x-matroska');
      expect(res.headers['x-whipcast-session']).toBe(source.sessionId);
      expect(res.headers['x-whipcast-tracks']).toBe(`video=${video},audio=opus`);
      expect(res.headers['x-whipcast-video-size']).toBe('640x360');
      expect(source.keyframeRequests).toBeGreaterThanOrEqual(1);

      await new Promise((r) => setTimeout(r, 1500));
      source.end('deleted');
      expect(await res.done).toBe('end');
      expect(app.relay.openBodies).toBe(0);
      expect(source.listeners).toBe(0);

      // The body's time 0 is its first key frame; the epoch header says when that was.
      const firstKey = emitted.find((e) => e.frame.kind === 'video' && e.frame.keyframe)!;
      expect(firstKey.frame.timeUs).toBeGreaterThanOrEqual(200_000);
      const epoch = Number(res.headers['x-whipcast-epoch']);
      expect(Math.abs(epoch - (source.epochMs + firstKey.frame.timeUs / 1000))).toBeLessThanOrEqual(1);

      const file = path.join(dir, `got-${video}.mkv`);
      writeFileSync(file, Buffer.concat(res.chunks.map((c) => c.data)));
      const probe = JSON.parse(
        (
          await run('ffprobe', [
            ...['-v', 'error', '-of', 'json', '-show_streams', '-show_packets'],
            ...[
              '-show_entries',
              'stream=codec_name,profile,width,height,sample_rate,channels:packet=stream_index,pts,flags',
            ],
            file,
          ])
        ).stdout,
      ) as {
        streams: {
          codec_name: string;
          profile?: string;
          width?: number;
          height?: number;
          sample_rate?: string;
          channels?: number;
        }[];
        packets: { stream_index: number; pts: number; flags: string }[];
      };
      expect(probe.streams.map((s) => s.codec_name)).toEqual([video, 'opus']);
      expect(probe.streams[0]).toMatchObject({ width: 640, height: 360 });
      if (video === 'h264') expect(probe.streams[0]?.profile).toBe('High');
      expect(probe.streams[1]).toMatchObject({ sample_rate: '48000', channels: 2 });
      const vpts = probe.packets.filter((p) => p.stream_index === 0);
      const apts = probe.packets.filter((p) => p.stream_index === 1).map((p) => p.pts);
      expect(vpts[0]).toMatchObject({ pts: 0, flags: expect.stringContaining('K') as unknown as string });
      // 30 fps on a 1 ms clock: 33 or 34 ms apart; Opus every 20 ms, from 0.
      const vdeltas = new Set(vpts.slice(1).map((p, i) => p.pts - vpts[i]!.pts));
      expect([...vdeltas].every((d) => d === 33 || d === 34)).toBe(true);
      expect(apts[0]).toBeLessThanOrEqual(20);
      expect(new Set(apts.slice(1).map((p, i) => p - apts[i]!))).toEqual(new Set([20]));
      expect(vpts.length).toBeGreaterThan(30);
      // Decodes without a single error.
      const decode = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-']);
      expect(decode.stderr).toBe('');

      // Frame in → bytes at the client: each video frame after the first reaches the socket
      // before the next frame is due. Reported, and bounded loosely (shared CI cores).
      const latencies: number[] = [];
      for (const e of emitted) {
        if (e.frame.kind !== 'video' || e.frame.timeUs <= firstKey.frame.timeUs) continue;
        const got = res.chunks.find((c) => c.at >= e.at);
        if (got) latencies.push(got.at - e.at);
      }
      latencies.sort((a, b) => a - b);
      const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
      console.log(
        `relay ${video}: frame-in → client bytes over ${latencies.length} frames: ` +
          `p50 ${pct(0.5).toFixed(2)} ms, p95 ${pct(0.95).toFixed(2)} ms, max ${pct(1).toFixed(2)} ms`,
      );
      expect(latencies.length).toBeGreaterThan(30);
      expect(pct(0.5)).toBeLessThan(50);
    },
    30_000,
  );

  it('ends the body at a takeover, and the next request gets the new session', async () => {
    const first = publish('takeover', 'h264');
    first.play(interleave(frames.h264!), { loop: true });
    const a = await get('takeover');
    expect(a.status).toBe(200);
    const second = new FakeFrameSource({
      streamId: 'takeover',
      video: { codec: 'vp8', width: null, height: null },
      audio: OPUS,
    });
    second.play(interleave(frames.vp8!), { loop: true });
    sources.publish(second);
    expect(await a.done).toBe('end');
    const b = await get('takeover');
    expect(b.status).toBe(200);
    expect(b.headers['x-whipcast-session']).toBe(second.sessionId);
    expect(b.headers['x-whipcast-tracks']).toBe('video=vp8,audio=opus');
  });

  it('follows a takeover that happens before the first key frame; 404 when the stream just ends', async () => {
    const silent = publish('early', 'h264');
    const pending = get('early');
    await waitFor('the relay to subscribe', async () => silent.listeners > 0, 5000, 20);
    const next = new FakeFrameSource({
      streamId: 'early',
      video: { codec: 'h264', width: null, height: null },
      audio: OPUS,
    });
    sources.publish(next);
    next.play(interleave(frames.h264!), { loop: true });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers['x-whipcast-session']).toBe(next.sessionId);

    const lonely = publish('lonely', 'h264');
    const pending2 = get('lonely');
    // The stream's key-frame cache listens from the start: the relay is the second listener.
    await waitFor('the relay to subscribe', async () => lonely.listeners > 1, 5000, 20);
    sources.unpublish('lonely');
    const res2 = await pending2;
    expect(res2.status).toBe(404);
  });

  it('stops listening to the session when the client goes away', async () => {
    const s = publish('leaver', 'h264');
    s.play(interleave(frames.h264!), { loop: true });
    const res = await get('leaver');
    expect(res.status).toBe(200);
    res.close();
    await waitFor(
      'the relay to let go',
      // Left: the stream's own listener (its key-frame cache).
      async () => s.listeners === 1 && app.relay.openBodies === 0,
      5000,
      20,
    );
  });
});

describe('relay shutdown', () => {
  it('drops open connections instead of ending them, so readers do not take it for the stream’s end', async () => {
    const sources = new FakeFrameSources();
    const app = await startRelayApp(sources);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-relay-close-'));
    try {
      const f = await makeFrames(dir, {
        video: 'vp8',
        seconds: 1,
        audio: false,
        gop: 15,
      });
      const s = new FakeFrameSource({
        streamId: 'bye',
        video: { codec: 'vp8', width: null, height: null },
        audio: null,
      });
      sources.publish(s);
      s.play(f.video, { loop: true });
      app.relay.authorize('bye', TOKEN);
      const res = await getRecorded(app.url('bye'), TOKEN);
      expect(res.status).toBe(200);
      expect(res.headers['x-whipcast-tracks']).toBe('video=vp8');
      await app.relay.close();
      expect(await res.done).toBe('error');
      // Only the stream's own listener is left (its key-frame cache), and it goes with the stream.
      expect(s.listeners).toBe(1);
      sources.closeAll();
      expect(s.listeners).toBe(0);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RelayBody with a consumer that does not read', () => {
  it('drops frames up to the next key frame once maxBufferedBytes are queued', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-relay-slow-'));
    const f = await makeFrames(dir, { video: 'h264', seconds: 2, audio: true, gop: 15 });
    rmSync(dir, { recursive: true, force: true });
    const source = new FakeFrameSource({
      streamId: 'slow',
      video: { codec: 'h264', width: null, height: null },
      audio: OPUS,
    });
    const sources = new FakeFrameSources();
    sources.publish(source);
    const body = new RelayBody({
      streamId: 'slow',
      stream: sources.streams.get('slow')!,
      log: createLogger('silent'),
      maxBufferedBytes: 20_000,
      keyframeRetryMs: 1000,
    });
    for (const fr of interleave(f)) source.emit(fr);
    const meta = await body.ready;
    expect(meta.tracks.video).toBe('h264');
    expect(body.stats.resyncs).toBeGreaterThan(0);
    expect(body.stats.dropped.waiting_for_keyframe).toBeGreaterThan(0);
    // What was queued is still a valid stream: the reader can take it all, then it ends.
    source.end();
    const bytes: Buffer[] = [];
    for await (const chunk of body.body as Readable) bytes.push(chunk as Buffer);
    expect(Buffer.concat(bytes).length).toBe(body.stats.bytes);
    body.close();
  });
});

import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/core/log.js';
import type { MediaFrame } from '../../src/core/media.js';
import { GopCache, MAX_REPLAY_AGE_MS } from '../../src/live/gop-cache.js';
import { RelayBody } from '../../src/live/relay/body.js';
import { FakeFrameSource, FakeFrameSources } from '../helpers/fake-frame-source.js';

const SPS_PPS_IDR = Buffer.from([
  ...[
    0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00,
    0x01,
  ],
  ...[0x00, 0x00, 0x03, 0x00, 0x3c, 0x8f, 0x16, 0x2e, 0x48],
  ...[0, 0, 0, 1, 0x68, 0xcb, 0x83, 0xcb, 0x20],
  ...[0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x33, 0xff],
]);

function video(timeUs: number, keyframe: boolean, arrivalMs = 0, bytes = 100): MediaFrame {
  const data = keyframe ? SPS_PPS_IDR : Buffer.concat([Buffer.from([0, 0, 0, 1, 0x41]), Buffer.alloc(bytes)]);
  return { kind: 'video', codec: 'h264', timeUs, keyframe, data, arrivalMs };
}

function audio(timeUs: number, arrivalMs = 0): MediaFrame {
  return { kind: 'audio', codec: 'opus', timeUs, keyframe: true, data: Buffer.alloc(40), arrivalMs };
}

describe('GopCache', () => {
  it('keeps the frames since the last key frame, both tracks', () => {
    const c = new GopCache();
    c.push(video(0, false));
    c.push(audio(10_000));
    expect(c.since(0)).toEqual([]);
    c.push(video(33_000, true, 1000));
    c.push(audio(40_000, 1001));
    c.push(video(66_000, false, 1010));
    expect(c.since(1100).map((f) => f.timeUs)).toEqual([33_000, 40_000, 66_000]);
    c.push(video(99_000, true, 1100));
    expect(c.since(1200).map((f) => f.timeUs)).toEqual([99_000]);
  });

  it('gives nothing once its key frame is too old to start from', () => {
    const c = new GopCache();
    c.push(video(0, true, 1000));
    expect(c.since(1000 + MAX_REPLAY_AGE_MS)).toHaveLength(1);
    expect(c.since(1000 + MAX_REPLAY_AGE_MS + 1)).toEqual([]);
  });

  it('drops a group of pictures larger than its limit until the next key frame', () => {
    const c = new GopCache(1000);
    c.push(video(0, true));
    c.push(video(33_000, false, 0, 600));
    c.push(video(66_000, false, 0, 600));
    expect(c.since(0)).toEqual([]);
    expect(c.bytes).toBe(0);
    c.push(video(99_000, false));
    expect(c.since(0)).toEqual([]);
    c.push(video(132_000, true));
    expect(c.since(0)).toHaveLength(1);
  });
});

describe('a relay body that joins between key frames', () => {
  const log = createLogger('silent');
  const bodyFor = (sources: FakeFrameSources, id: string) =>
    new RelayBody({
      streamId: id,
      stream: sources.streams.get(id)!,
      log,
      maxBufferedBytes: 2 * 1024 * 1024,
      keyframeRetryMs: 1000,
    });
  const source = (id: string) =>
    new FakeFrameSource({
      streamId: id,
      video: { codec: 'h264', width: null, height: null },
      audio: { codec: 'opus', sampleRate: 48_000, channels: 2 },
    });

  it('starts at once from the key frame the stream already has', async () => {
    const sources = new FakeFrameSources();
    const s = source('gop');
    sources.publish(s);
    s.emit(video(0, true));
    s.emit(audio(5_000));
    s.emit(video(33_000, false));
    const body = bodyFor(sources, 'gop');
    const meta = await body.ready;
    expect(body.started).toBe(true);
    // Media time 0 of the body is the cached key frame.
    expect(meta.epochMs).toBe(s.epochMs);
    expect(body.stats.frames).toBe(3);
    s.emit(video(66_000, false));
    expect(body.stats.frames).toBe(4);
    body.close();
    sources.closeAll();
    expect(s.listeners).toBe(0);
  });

  it('offers only a recent key frame of the current session', () => {
    const sources = new FakeFrameSources();
    const s = source('old');
    sources.publish(s);
    const stream = sources.streams.get('old')!;
    s.emit(video(0, true));
    expect(stream.recentFrames(s)).toHaveLength(1);
    // Too old to start from: the body waits for the next key frame, as without a cache.
    expect(stream.recentFrames(s, Date.now() + MAX_REPLAY_AGE_MS + 1)).toEqual([]);
    // Taken over: the old session's frames are nobody's start.
    const next = source('old');
    sources.publish(next);
    expect(stream.recentFrames(s)).toEqual([]);
    expect(stream.recentFrames(next)).toEqual([]);
    const body = bodyFor(sources, 'old');
    expect(body.started).toBe(false);
    next.emit(video(0, true));
    expect(body.started).toBe(true);
    body.close();
    sources.closeAll();
  });
});

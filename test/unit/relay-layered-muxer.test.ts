import { describe, expect, it } from '@jest/globals';
import type { MediaFrame, VideoTrackInfo } from '../../src/core/media.js';
import { LayeredMuxer } from '../../src/live/relay/layered-muxer.js';
import { ID } from '../../src/live/relay/matroska/ids.js';
import type { RelayMuxOutput } from '../../src/live/relay/muxer.js';
import { readEbml } from '../helpers/ebml-reader.js';

const hex = (s: string) => Buffer.from(s, 'hex');
// 640x360 High profile (the RelayMuxer test's SPS).
const SPS = hex('6764001eacd940a02ff970110000030001000003003c0f162d96');
const PPS = hex('68ef8fcb');
const sc = hex('00000001');
const IDR = Buffer.concat([sc, SPS, sc, PPS, sc, hex('65888400aa')]);
const P = Buffer.concat([sc, hex('419a0011')]);
const OPUS = { codec: 'opus' as const, sampleRate: 48000 as const, channels: 2 as const };
const LAYERS: VideoTrackInfo = {
  codec: 'h264',
  width: null,
  height: null,
  layers: [
    { rid: 'h', width: null, height: null },
    { rid: 'l', width: null, height: null },
  ],
};
const FRAME_US = 33_333;

const video = (timeUs: number, keyframe: boolean, arrivalMs = 1_000_000 + timeUs / 1000): MediaFrame => ({
  kind: 'video',
  codec: 'h264',
  timeUs,
  keyframe,
  data: keyframe ? IDR : P,
  arrivalMs,
});
const audio = (timeUs: number): MediaFrame => ({
  kind: 'audio',
  codec: 'opus',
  timeUs,
  keyframe: true,
  data: hex('fc'),
  arrivalMs: 1_000_000 + timeUs / 1000,
});

/** Frames 0..n-1 of both layers at 30 fps; key frames where `key(rid, n)` says. */
function feed(
  m: LayeredMuxer,
  frames: number,
  key: (rid: string, n: number) => boolean,
  offsetUs = 0,
): RelayMuxOutput[] {
  const outs: RelayMuxOutput[] = [];
  for (let n = 0; n < frames; n++) {
    const t = n * FRAME_US;
    // Layer l's clock is offset (its own anchor) and it arrives 1 ms later.
    outs.push(m.push(video(t, key('h', n)), 'h'));
    outs.push(m.push(video(t + offsetUs, key('l', n), 1_000_001 + t / 1000), 'l'));
    if (n % 3 === 0) outs.push(m.push(audio(t + 5_000), null));
  }
  return outs;
}

function blocks(outs: RelayMuxOutput[]): { track: number; ms: number }[] {
  const bytes = Buffer.concat(
    outs.flatMap((o) => (o.type === 'start' || o.type === 'data' ? [o.bytes] : [])),
  );
  let cluster = 0;
  const out: { track: number; ms: number }[] = [];
  for (const e of readEbml(bytes)) {
    if (e.id === ID.Timestamp) cluster = e.data.length === 0 ? 0 : e.data.readUIntBE(0, e.data.length);
    if (e.id === ID.SimpleBlock)
      out.push({ track: (e.data[0] ?? 0) & 0x7f, ms: cluster + e.data.readInt16BE(1) });
  }
  return out;
}

describe('LayeredMuxer (passthrough relay body)', () => {
  it('starts at the second key frame common to every layer, each track at its own 0, GOP and audio kept', () => {
    const m = new LayeredMuxer({ video: LAYERS, audio: OPUS });
    const outs = feed(m, 75, (_rid, n) => n % 30 === 0, 20_000);
    const start = outs.find((o) => o.type === 'start');
    expect(start).toBeDefined();
    if (start?.type !== 'start') return;
    expect(outs.indexOf(start)).toBeGreaterThan(0);
    // Started at frame 30 (1 s), the second common key frame.
    expect(start.baseUs).toBe(30 * FRAME_US);
    expect(start.layers).toEqual([
      { rid: 'h', width: 640, height: 360 },
      { rid: 'l', width: 640, height: 360 },
    ]);
    const codecs = readEbml(start.bytes)
      .filter((e) => e.id === ID.CodecID)
      .map((e) => e.data.toString());
    expect(codecs).toEqual(['V_MPEG4/ISO/AVC', 'V_MPEG4/ISO/AVC', 'A_OPUS']);
    const b = blocks(outs);
    // Both tracks start with their key frame at 0 ms, whatever their clocks' offset.
    expect(b.filter((x) => x.track === 1)[0]).toEqual({ track: 1, ms: 0 });
    expect(b.filter((x) => x.track === 2)[0]).toEqual({ track: 2, ms: 0 });
    // Every frame from the start on, in both layers: frames 30..74.
    expect(b.filter((x) => x.track === 1)).toHaveLength(45);
    expect(b.filter((x) => x.track === 2)).toHaveLength(45);
    // Key frame 60 lands at the same ms in both tracks.
    const at = (track: number) => b.filter((x) => x.track === track).map((x) => x.ms);
    expect(at(1)[30]).toBe(at(2)[30]);
    expect(b.some((x) => x.track === 3)).toBe(true);
    expect(m.waitingForKeyframe).toBe(false);
  });

  it('refuses layers whose key frames are not at the same instants, with the reason', () => {
    const m = new LayeredMuxer({ video: LAYERS, audio: OPUS });
    // Layer l's GOP is one frame late after its first key frame (its own PLI answer, say).
    const outs = feed(m, 75, (rid, n) => (rid === 'h' ? n % 30 === 0 : n === 0 || (n > 1 && n % 30 === 1)));
    const refuse = outs.find((o) => o.type === 'refuse');
    expect(refuse).toMatchObject({ type: 'refuse' });
    if (refuse?.type === 'refuse') {
      expect(refuse.reason).toBe(
        "the layers' key frames are not aligned: layer h has a key frame at 1.000 s where layer l has none (nearest 1.034 s, 34 ms away; at most 20 ms allowed)",
      );
    }
    expect(outs.some((o) => o.type === 'start')).toBe(false);
  });

  it('ends a started body when a layer gets a key frame of its own', () => {
    const m = new LayeredMuxer({ video: LAYERS, audio: OPUS });
    const outs = feed(m, 90, (rid, n) => n % 30 === 0 || (rid === 'l' && n === 70));
    expect(outs.some((o) => o.type === 'start')).toBe(true);
    const end = outs.find((o) => o.type === 'incompatible');
    expect(end).toMatchObject({ type: 'incompatible' });
    if (end?.type === 'incompatible') expect(end.reason).toMatch(/no longer aligned/);
  });

  it('ends a started body at a hole in one layer (frames lost and not repaired), not at one lost frame', () => {
    const run = (lost: number[]) => {
      const m = new LayeredMuxer({ video: LAYERS, audio: OPUS });
      const outs: RelayMuxOutput[] = [];
      for (let n = 0; n < 90; n++) {
        const t = n * FRAME_US;
        const key = n % 30 === 0;
        if (!lost.includes(n)) outs.push(m.push(video(t, key), 'h'));
        outs.push(m.push(video(t, key, 1_000_001 + t / 1000), 'l'));
      }
      expect(outs.some((o) => o.type === 'start')).toBe(true);
      return outs.find((o) => o.type === 'incompatible');
    };
    expect(run([70])).toBeUndefined();
    const end = run([70, 71, 72]);
    expect(end).toMatchObject({ type: 'incompatible' });
    if (end?.type === 'incompatible') {
      expect(end.reason).toBe(
        'layer h skipped 0.133 s (frames lost and not repaired): the renditions go on from the next common key frame',
      );
    }
  });

  it('refuses a codec HLS fMP4 is not given as it is (VP8)', () => {
    const m = new LayeredMuxer({ video: { ...LAYERS, codec: 'vp8' }, audio: null });
    const out = m.push({ ...video(0, true), codec: 'vp8', data: hex('9d012a') }, 'h');
    expect(out).toEqual({
      type: 'refuse',
      reason: 'vp8 cannot be passed through: only H.264 is packaged as it is received',
    });
  });

  it('refuses when the layers show too few key frames within alignWaitMs', () => {
    const m = new LayeredMuxer({ video: LAYERS, audio: OPUS, alignWaitMs: 2000 });
    feed(m, 10, (_rid, n) => n === 0);
    expect(m.tick(1_000_000 + 1000)).toBeNull();
    const out = m.tick(1_000_000 + 2500);
    expect(out).toMatchObject({ type: 'refuse' });
    if (out?.type === 'refuse')
      expect(out.reason).toMatch(/^fewer than 2 key frames common to every layer within 2 s/);
  });

  it('one encoding (no simulcast) starts at its first key frame, as one track', () => {
    const m = new LayeredMuxer({ video: { codec: 'h264', width: null, height: null }, audio: null });
    expect(m.push(video(0, false), null)).toEqual({ type: 'drop', reason: 'waiting_for_keyframe' });
    const start = m.push(video(FRAME_US, true), null);
    expect(start).toMatchObject({ type: 'start', layers: [{ rid: null, width: 640, height: 360 }] });
    expect(m.push(video(2 * FRAME_US, false), null).type).toBe('data');
  });
});

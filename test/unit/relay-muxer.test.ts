import { describe, expect, it } from '@jest/globals';
import type { MediaFrame } from '../../src/core/media.js';
import { ID } from '../../src/live/relay/matroska/ids.js';
import { RelayMuxer, type RelayMuxOutput } from '../../src/live/relay/muxer.js';
import { readEbml } from '../helpers/ebml-reader.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const SPS = hex('6764001eacd940a02ff970110000030001000003003c0f162d96');
const PPS = hex('68ef8fcb');
const sc = hex('00000001');
const IDR = Buffer.concat([sc, SPS, sc, PPS, sc, hex('65888400aa')]);
const IDR_NO_PARAMS = Buffer.concat([sc, hex('65888400aa')]);
const P = Buffer.concat([sc, hex('419a0011')]);

const video = (timeUs: number, data: Buffer, keyframe: boolean): MediaFrame => ({
  kind: 'video',
  codec: 'h264',
  timeUs,
  keyframe,
  data,
  arrivalMs: 0,
});
const audio = (timeUs: number): MediaFrame => ({
  kind: 'audio',
  codec: 'opus',
  timeUs,
  keyframe: true,
  data: hex('fc'),
  arrivalMs: 0,
});

function h264Muxer(): RelayMuxer {
  return new RelayMuxer({
    video: { codec: 'h264', width: null, height: null },
    audio: { codec: 'opus', sampleRate: 48000, channels: 2 },
  });
}

/** The SimpleBlocks in some output bytes: track, absolute ms (cluster + offset), payload. */
function blocks(outs: RelayMuxOutput[]): { track: number; ms: number; payload: Buffer }[] {
  const bytes = Buffer.concat(
    outs.flatMap((o) => (o.type === 'start' || o.type === 'data' ? [o.bytes] : [])),
  );
  let cluster = 0;
  const out: { track: number; ms: number; payload: Buffer }[] = [];
  for (const e of readEbml(bytes)) {
    if (e.id === ID.Timestamp) cluster = e.data.length === 0 ? 0 : e.data.readUIntBE(0, e.data.length);
    if (e.id === ID.SimpleBlock) {
      out.push({
        track: (e.data[0] ?? 0) & 0x7f,
        ms: cluster + e.data.readInt16BE(1),
        payload: e.data.subarray(4),
      });
    }
  }
  return out;
}

describe('RelayMuxer', () => {
  it('starts at the first video key frame that carries SPS and PPS; drops everything before it', () => {
    const m = h264Muxer();
    expect(m.waitingForKeyframe).toBe(true);
    expect(m.push(audio(1_000_000))).toEqual({ type: 'drop', reason: 'waiting_for_keyframe' });
    expect(m.push(video(1_010_000, P, false))).toEqual({ type: 'drop', reason: 'waiting_for_keyframe' });
    expect(m.push(video(1_043_333, IDR_NO_PARAMS, true))).toEqual({
      type: 'drop',
      reason: 'waiting_for_keyframe',
    });
    const start = m.push(video(1_076_667, IDR, true));
    expect(start.type).toBe('start');
    if (start.type !== 'start') return;
    expect(start.baseUs).toBe(1_076_667);
    expect(start.tracks).toEqual({ video: 'h264', audio: 'opus', width: 640, height: 360 });
    expect(m.started).toBe(true);
    expect(m.waitingForKeyframe).toBe(false);
    const els = readEbml(start.bytes);
    expect(els.filter((e) => e.id === ID.CodecID).map((e) => e.data.toString())).toEqual([
      'V_MPEG4/ISO/AVC',
      'A_OPUS',
    ]);
    // The avcC was built from this key frame's SPS.
    expect(els.find((e) => e.id === ID.CodecPrivate)?.data.subarray(0, 4)).toEqual(hex('0164001e'));
  });

  it('rebases to the key frame, rounds to ms, drops audio from before it, length-prefixes H.264', () => {
    const m = h264Muxer();
    const outs = [
      m.push(video(5_000_000, IDR, true)),
      m.push(audio(4_995_000)),
      m.push(audio(5_000_400)),
      m.push(video(5_033_333, P, false)),
      m.push(audio(5_020_400)),
      m.push(video(5_066_667, P, false)),
    ];
    expect(outs[1]).toEqual({ type: 'drop', reason: 'before_start' });
    const b = blocks(outs);
    expect(b.map((x) => [x.track, x.ms])).toEqual([
      [1, 0],
      [2, 0],
      [1, 33],
      [2, 20],
      [1, 67],
    ]);
    // 4-byte lengths, no start codes: SPS, PPS, slice.
    const first = b[0]!.payload;
    expect(first.readUInt32BE(0)).toBe(SPS.length);
    expect(first.subarray(4, 4 + SPS.length)).toEqual(SPS);
    expect(b[2]!.payload).toEqual(hex('00000004419a0011'));
  });

  it('after resync() drops video and audio up to the next key frame, on the same timeline', () => {
    const m = h264Muxer();
    m.push(video(0, IDR, true));
    m.resync();
    expect(m.waitingForKeyframe).toBe(true);
    expect(m.push(video(33_333, P, false))).toEqual({ type: 'drop', reason: 'waiting_for_keyframe' });
    expect(m.push(audio(40_000))).toEqual({ type: 'drop', reason: 'waiting_for_keyframe' });
    const key = m.push(video(1_000_000, IDR, true));
    expect(key.type).toBe('data');
    expect(blocks([key]).map((x) => x.ms)).toEqual([1000]);
    expect(m.push(audio(1_020_000)).type).toBe('data');
  });

  it('asks for the body to end when the video codec changes', () => {
    const m = h264Muxer();
    m.push(video(0, IDR, true));
    expect(m.push({ ...video(33_333, P, false), codec: 'vp8' }).type).toBe('incompatible');
  });

  it('takes the size from the track info when a VP8 key frame header cannot be read', () => {
    const m = new RelayMuxer({ video: { codec: 'vp8', width: 320, height: 240 }, audio: null });
    const start = m.push({
      kind: 'video',
      codec: 'vp8',
      timeUs: 0,
      keyframe: true,
      data: hex('00'),
      arrivalMs: 0,
    });
    expect(start.type === 'start' && start.tracks).toEqual({
      video: 'vp8',
      audio: null,
      width: 320,
      height: 240,
    });
    expect(m.push(audio(0))).toEqual({ type: 'drop', reason: 'unknown_track' });
  });

  it('starts an audio-only stream at its first packet', () => {
    const m = new RelayMuxer({ video: null, audio: { codec: 'opus', sampleRate: 48000, channels: 1 } });
    expect(m.waitingForKeyframe).toBe(false);
    const start = m.push(audio(700_000));
    expect(start.type === 'start' && start.baseUs).toBe(700_000);
    expect(blocks([start, m.push(audio(720_000))]).map((x) => x.ms)).toEqual([0, 20]);
  });
});

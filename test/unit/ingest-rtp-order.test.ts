import { describe, expect, it } from '@jest/globals';
import { FrameAssembler, type ReceivedPacket } from '../../src/ingest/rtp/frame-assembler.js';
import { MediaEpoch, RtpTimestampUnwrapper, TrackClock } from '../../src/ingest/rtp/media-clock.js';
import { RateLimiter } from '../../src/ingest/rtp/rate-limiter.js';
import { ReorderBuffer, type ReorderItem } from '../../src/ingest/rtp/reorder-buffer.js';
import { RollingWindow } from '../../src/ingest/rtp/rolling-window.js';
import { SequenceStats } from '../../src/ingest/rtp/sequence-stats.js';

interface P {
  header: { sequenceNumber: number };
}
const p = (seq: number): P => ({ header: { sequenceNumber: seq & 0xffff } });
/** Items as numbers: sequence numbers for packets, `-n` for a gap of n. */
const flat = (items: ReorderItem<P>[]) =>
  items.map((i) => (i.packet ? i.packet.header.sequenceNumber : -i.lost));

describe('ReorderBuffer', () => {
  it('passes packets in order straight through', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    expect([1, 2, 3].flatMap((s) => flat(b.push(p(s), 0).items))).toEqual([1, 2, 3]);
  });

  it('puts reordered packets back in order', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    const out = [10, 12, 13, 11, 14].flatMap((s) => flat(b.push(p(s), 0).items));
    expect(out).toEqual([10, 11, 12, 13, 14]);
    expect(b.size).toBe(0);
  });

  it('waits maxDelayMs for a missing packet, then reports the gap once', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    b.push(p(1), 0);
    expect(flat(b.push(p(3), 10).items)).toEqual([]);
    expect(flat(b.push(p(4), 50).items)).toEqual([]);
    expect(flat(b.push(p(5), 111).items)).toEqual([-1, 3, 4, 5]);
    expect(flat(b.push(p(2), 120).items)).toEqual([]); // too late now
    expect(b.late).toBe(1);
  });

  it('fills a gap with a retransmission that comes in time', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    b.push(p(1), 0);
    b.push(p(3), 5);
    expect(flat(b.push(p(2), 40).items)).toEqual([2, 3]);
  });

  it('releases a stale gap on poll() when nothing else arrives', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    b.push(p(1), 0);
    b.push(p(4), 0);
    expect(flat(b.poll(50).items)).toEqual([]);
    expect(flat(b.poll(101).items)).toEqual([-2, 4]);
  });

  it('drops duplicates and crosses the 16-bit wrap', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    const out = [65534, 65535, 65535, 1, 0, 2].flatMap((s) => flat(b.push(p(s), 0).items));
    expect(out).toEqual([65534, 65535, 0, 1, 2]);
    expect(b.late).toBe(1); // a copy of a packet already released counts as late
  });

  it('skips a gap at once when too many packets wait', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 10_000, maxPackets: 3 });
    b.push(p(1), 0);
    for (const s of [3, 4, 5]) expect(b.push(p(s), 0).items).toEqual([]);
    expect(flat(b.push(p(6), 0).items)).toEqual([-1, 3, 4, 5, 6]);
  });

  it('resets on a jump no reordering explains', () => {
    const b = new ReorderBuffer<P>({ maxDelayMs: 100 });
    b.push(p(100), 0);
    b.push(p(102), 0);
    const out = b.push(p(30_000), 0);
    expect(out.reset).toBe(true);
    expect(flat(out.items)).toEqual([30_000]);
    expect(flat(b.push(p(30_001), 0).items)).toEqual([30_001]);
  });
});

describe('SequenceStats', () => {
  it('counts RFC 3550 cumulative loss, and retransmissions fill it', () => {
    const s = new SequenceStats();
    for (const seq of [65533, 65534, 1, 2]) s.record(seq);
    expect(s.lost).toBe(2); // 65535 and 0
    s.record(0);
    s.record(0); // a duplicate
    expect(s.lost).toBe(1);
    expect(s.received).toBe(6);
  });
});

const rp = (seq: number, ts: number, marker: boolean, byte = seq): ReceivedPacket => ({
  header: { sequenceNumber: seq, timestamp: ts, marker },
  payload: Buffer.from([byte]),
  arrivalMs: seq,
});
const concat = (packets: readonly ReceivedPacket[]) => Buffer.concat(packets.map((x) => x.payload));

describe('FrameAssembler', () => {
  it('ends frames at the marker bit, or when the timestamp changes', () => {
    const a = new FrameAssembler(concat);
    expect(a.push(rp(1, 100, false))).toEqual([]);
    const [f1] = a.push(rp(2, 100, true));
    expect(f1).toEqual({ data: Buffer.from([1, 2]), rtpTimestamp: 100, arrivalMs: 2, broken: false });
    a.push(rp(3, 200, false));
    const [f2] = a.push(rp(4, 300, true)); // 200 ended without a marker; 300 is one packet
    expect(f2).toMatchObject({ data: Buffer.from([3]), rtpTimestamp: 200, broken: false });
  });

  it('breaks the frame a gap fell in, and the next one', () => {
    const a = new FrameAssembler(concat);
    a.push(rp(1, 100, false));
    a.gap();
    expect(a.push(rp(3, 100, true))[0]).toMatchObject({ broken: true, rtpTimestamp: 100 });
    a.gap(); // between frames: the lost packet may have started the next one
    expect(a.push(rp(5, 200, true))[0]).toMatchObject({ broken: true });
    expect(a.push(rp(6, 300, true))[0]).toMatchObject({ broken: false });
  });

  it('marks a frame broken when depacketizing throws or gives nothing', () => {
    const a = new FrameAssembler(() => {
      throw new Error('malformed');
    });
    expect(a.push(rp(1, 100, true))[0]).toMatchObject({ broken: true });
    const empty = new FrameAssembler(() => Buffer.alloc(0));
    expect(empty.push(rp(1, 100, true))[0]).toMatchObject({ broken: true });
  });
});

describe('the session clock', () => {
  it('unwraps 32-bit RTP timestamps both ways', () => {
    const u = new RtpTimestampUnwrapper();
    expect(u.unwrap(0xfffffff0)).toBe(0xfffffff0);
    expect(u.unwrap(0x10)).toBe(0x100000010);
    expect(u.unwrap(0xfffffff8)).toBe(0xfffffff8);
  });

  it('anchors each track at its first arrival and then follows RTP time', () => {
    const epoch = new MediaEpoch();
    const video = new TrackClock(90_000, epoch);
    const audio = new TrackClock(48_000, epoch);
    expect(video.timeUs(1_000_000, 5000)).toBe(0);
    expect(epoch.epochMs).toBe(5000);
    expect(audio.timeUs(777, 5040)).toBe(40_000);
    expect(video.timeUs(1_000_000 + 3000, 5100)).toBe(33_333); // arrival jitter does not matter
    expect(audio.timeUs(777 + 960, 5041)).toBe(60_000);
  });

  it('never goes backwards and re-anchors on a jump of RTP time', () => {
    const epoch = new MediaEpoch();
    const c = new TrackClock(90_000, epoch);
    c.timeUs(90_000, 0);
    expect(c.timeUs(45_000, 10)).toBe(1); // earlier timestamp: held at last + 1 µs
    expect(c.timeUs(90_000 + 90_000 * 3600, 1000)).toBe(1_000_000); // an hour ahead in 1 s: arrival wins
    expect(c.timeUs(90_000 + 90_000 * 3600 + 9000, 1100)).toBe(1_100_000);
  });
});

describe('RollingWindow and RateLimiter', () => {
  it('gives rates over the window (or what of it has passed)', () => {
    const w = new RollingWindow(1000);
    for (let t = 0; t <= 2000; t += 100) w.add(t, 10);
    expect(w.ratePerSecond(2000)).toBeCloseTo(110, 0); // 11 samples in [1000, 2000]
    expect(w.countPerSecond(2000)).toBeCloseTo(11, 0);
    expect(w.ratePerSecond(5000)).toBe(0);
  });

  it('lets one action through per interval', () => {
    const r = new RateLimiter(500);
    expect([0, 100, 499, 500, 900, 1000].map((t) => r.tryAcquire(t))).toEqual([
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
  });
});

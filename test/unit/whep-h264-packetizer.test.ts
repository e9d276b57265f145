import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { H264RtpPayload, RtpPacket } from 'werift';
import { startsKeyframe } from '../../src/core/codecs/keyframe.js';
import { H264Packetizer } from '../../src/ingest/whep/h264-packetizer.js';
import { boxes } from '../../src/packager/mp4/boxes.js';
import { parseInit } from '../../src/packager/mp4/init.js';
import { avcParameterSets, readSamples } from '../../src/packager/mp4/samples.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const MOVFLAGS = '+cmaf+frag_keyframe+empty_moov+default_base_moof+delay_moov+skip_sidx+skip_trailer';

function ffmpeg(
  args: string[],
  input?: Buffer,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(FFMPEG, ['-hide_banner', '-v', 'error', ...(input ? [] : ['-nostdin']), ...args]);
    const out: Buffer[] = [];
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    p.stdin.end(input);
  });
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const START = b(0, 0, 0, 1);
const SPS = b(0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8);
const PPS = b(0x68, 0xce, 0x3c, 0x80);
const AUD = b(0x09, 0xf0);
const SEI = b(0x06, 0x05, 0x01, 0xaa, 0x80);
/** A NAL unit of `size` bytes with header byte `header` and a body that shows misplaced bytes. */
const nal = (header: number, size: number): Buffer => {
  const n = Buffer.alloc(size);
  n[0] = header;
  for (let i = 1; i < size; i++) n[i] = (i * 7 + (i >> 8)) & 0xff;
  return n;
};
const IDR = nal(0x65, 5000);
/** AVCC: each NAL unit after a big-endian length of `lengthSize` bytes. */
const avcc = (lengthSize: number, ...nals: Buffer[]): Buffer =>
  Buffer.concat(
    nals.flatMap((n) => {
      const len = Buffer.alloc(lengthSize);
      len.writeUIntBE(n.length, 0, lengthSize);
      return [len, n];
    }),
  );

/** Annex-B through werift's depacketizer, the one ingest uses (4-byte start codes). */
function annexB(packets: RtpPacket[]): Buffer {
  const out: Buffer[] = [];
  let fragment: Buffer | undefined;
  for (const p of packets) {
    const h = H264RtpPayload.deSerialize(p.payload, fragment);
    fragment = h.fragment;
    if (h.payload) out.push(h.payload);
  }
  expect(fragment).toBeUndefined();
  return Buffer.concat(out);
}

describe('H264Packetizer (RFC 6184 packetization-mode 1)', () => {
  it('sends a key frame as STAP-A(SPS, PPS), then FU-A fragments, the marker on the last', () => {
    const p = new H264Packetizer({ payloadType: 102, mtu: 1200, initialSeq: 65533, ssrc: 0xdeadbeef });
    // In-band parameter sets and an AUD, as x264 writes them: dropped, the passed ones go first.
    const packets = p.packetize(avcc(4, AUD, SPS, PPS, SEI, IDR), 4, 2 ** 32 + 1234, {
      sps: [SPS],
      pps: [PPS],
    });
    const seqs = packets.map((x) => x.header.sequenceNumber);
    expect(seqs.slice(0, 5)).toEqual([65533, 65534, 65535, 0, 1]);
    expect(packets.every((x) => x.payload.length <= 1200)).toBe(true);
    expect(packets.map((x) => x.header.marker)).toEqual(packets.map((_, i) => i === packets.length - 1));
    expect(packets.every((x) => x.header.timestamp === 1234 && x.header.ssrc === 0xdeadbeef)).toBe(true);
    expect(packets.every((x) => x.header.payloadType === 102)).toBe(true);

    const [stap, sei, ...fus] = packets;
    // STAP-A: NRI the highest of SPS and PPS (3), type 24, then size-prefixed NAL units.
    expect(stap!.payload).toEqual(Buffer.concat([b(0x78, 0, SPS.length), SPS, b(0, PPS.length), PPS]));
    expect(startsKeyframe('h264', stap!.payload)).toBe(true);
    expect(sei!.payload).toEqual(SEI);
    // 4999 bytes after the NAL header, 1198 per fragment: 5 fragments.
    expect(fus).toHaveLength(5);
    expect(fus.map((x) => x.payload[0])).toEqual(fus.map(() => 0x60 | 28));
    expect(fus.map((x) => x.payload[1])).toEqual([0x85, 0x05, 0x05, 0x05, 0x45]);
    expect(startsKeyframe('h264', fus[0]!.payload)).toBe(true);

    expect(annexB(packets)).toEqual(Buffer.concat([START, SPS, START, PPS, START, SEI, START, IDR]));
    // What goes on the wire parses back to the same header.
    const wire = RtpPacket.deSerialize(packets[packets.length - 1]!.serialize());
    expect(wire.header.marker).toBe(true);
    expect(wire.header.sequenceNumber).toBe(3);
    expect(p.nextSeq).toBe(4);
  });

  it('sends small slices as single NAL unit packets, continuing the sequence', () => {
    const p = new H264Packetizer({ initialSeq: 65535 });
    const slices = [nal(0x41, 300), nal(0x41, 1200), nal(0x01, 20)];
    const packets = slices.flatMap((s, i) => p.packetize(avcc(2, AUD, s), 2, i * 3000));
    expect(packets.map((x) => x.header.sequenceNumber)).toEqual([65535, 0, 1]);
    expect(packets.every((x) => x.header.marker)).toBe(true);
    expect(packets.map((x) => x.header.timestamp)).toEqual([0, 3000, 6000]);
    expect(packets.map((x) => x.payload)).toEqual(slices);
    expect(packets.some((x) => startsKeyframe('h264', x.payload))).toBe(false);
  });

  it('without parameter sets keeps in-band SPS and PPS; drops AUDs only', () => {
    const p = new H264Packetizer({});
    const packets = p.packetize(avcc(1, AUD, SPS, PPS, nal(0x65, 100)), 1, 0);
    expect(packets.map((x) => x.payload[0]! & 0x1f)).toEqual([7, 8, 5]);
    expect(startsKeyframe('h264', packets[0]!.payload)).toBe(true);
  });

  it('sends parameter sets that do not fit one STAP-A as separate packets', () => {
    const p = new H264Packetizer({ mtu: 12 });
    const packets = p.packetize(avcc(4, nal(0x65, 30)), 4, 90000, { sps: [SPS], pps: [PPS] });
    expect(packets[0]!.payload).toEqual(SPS);
    expect(packets[1]!.payload).toEqual(PPS);
    expect(packets.every((x) => x.payload.length <= 12)).toBe(true);
    expect(annexB(packets)).toEqual(Buffer.concat([START, SPS, START, PPS, START, nal(0x65, 30)]));
  });

  it('rejects a sample whose NAL lengths run past its end, and a bad mtu', () => {
    const p = new H264Packetizer({});
    const bad = avcc(4, nal(0x41, 50)).subarray(0, 40);
    expect(() => p.packetize(bad, 4, 0)).toThrow(RangeError);
    expect(() => p.packetize(avcc(4, nal(0x41, 5)), 5, 0)).toThrow(RangeError);
    expect(() => new H264Packetizer({ mtu: 2 })).toThrow(RangeError);
  });
});

describe('H264Packetizer on x264 fMP4 from ffmpeg', () => {
  it('packets that reassemble into a stream ffmpeg decodes, 60 frames, no errors', async () => {
    const gen = await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '2'],
      ...['-c:v', 'libx264', '-g', '30', '-bf', '0'],
      ...['-f', 'mp4', '-movflags', MOVFLAGS, '-frag_duration', '200000', 'pipe:1'],
    ]);
    expect(gen.code).toBe(0);
    const file = gen.stdout;
    const moov = [...boxes(file)].find((x) => x.type === 'moov')!;
    const init = file.subarray(0, moov.end);
    const track = parseInit(init);
    const sets = avcParameterSets(init);
    const samples = readSamples(file.subarray(moov.end), track);
    expect(samples).toHaveLength(60);

    const p = new H264Packetizer({ mtu: 1000, initialSeq: 65000 });
    const units = samples.map((s) =>
      p.packetize(
        s.data,
        sets.lengthSize,
        Math.round((s.decodeTime * 90000) / track.timescale),
        s.sync ? sets : undefined,
      ),
    );
    for (const [i, packets] of units.entries()) {
      expect(packets.length).toBeGreaterThan(0);
      expect(startsKeyframe('h264', packets[0]!.payload)).toBe(i % 30 === 0);
      expect(packets.every((x) => x.payload.length <= 1000)).toBe(true);
      expect(packets.map((x) => x.header.marker)).toEqual(packets.map((_, j) => j === packets.length - 1));
    }
    const all = units.flat();
    expect(all.map((x) => x.header.sequenceNumber)).toEqual(all.map((_, i) => (65000 + i) % 65536));

    const decoded = await ffmpeg(['-f', 'h264', '-i', 'pipe:0', '-f', 'framecrc', '-'], annexB(all));
    expect(decoded.stderr).toBe('');
    expect(decoded.code).toBe(0);
    const frames = decoded.stdout
      .toString()
      .split('\n')
      .filter((l) => l.length > 0 && !l.startsWith('#'));
    expect(frames).toHaveLength(60);
  });
});

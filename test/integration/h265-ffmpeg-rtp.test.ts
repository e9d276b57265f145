import { describe, expect, it } from '@jest/globals';
import dgram from 'node:dgram';
import { spawnOwned, terminate } from '../../src/core/child.js';
import { H265ParameterSetCache } from '../../src/core/codecs/h265-access-unit.js';
import { depacketizeH265 } from '../../src/ingest/rtp/h265-depacketizer.js';

/**
 * The RFC 7798 depacketizer against another real packetizer: ffmpeg's RTP muxer, which
 * (unlike libdatachannel's) puts small NAL units in aggregation packets (the parameter
 * sets) and splits large ones into fragmentation units.
 */
describe("H.265 from ffmpeg's RTP packetizer", () => {
  it('depacketizes every access unit into a decodable one', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const packets: Buffer[] = [];
    socket.on('message', (m) => packets.push(Buffer.from(m)));
    const child = spawnOwned(
      process.env.FFMPEG_PATH ?? 'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
        ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-frames:v', '30'],
        ...[
          '-c:v',
          'libx265',
          '-preset',
          'ultrafast',
          '-x265-params',
          'keyint=15:repeat-headers=1:log-level=error',
        ],
        ...['-f', 'rtp', `rtp://127.0.0.1:${socket.address().port}?pkt_size=1000`],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    try {
      await new Promise<void>((resolve) => child.once('exit', () => resolve()));
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await terminate(child, 2000);
      socket.close();
    }
    // RTCP packet types 200 to 204 sit where RTP has marker and payload type.
    const rtp = packets.filter((p) => p.length > 12 && (p[1]! < 200 || p[1]! > 204));
    const types = rtp.map((p) => (p[12]! >> 1) & 0x3f);
    expect(types).toContain(48); // aggregation packets
    expect(types).toContain(49); // fragmentation units
    // Access units: the packets of one timestamp, up to the marker bit.
    const units: Buffer[][] = [];
    let current: Buffer[] = [];
    for (const p of rtp) {
      current.push(p.subarray(12));
      if ((p[1]! & 0x80) !== 0) {
        units.push(current);
        current = [];
      }
    }
    expect(units).toHaveLength(30);
    const cache = new H265ParameterSetCache();
    const frames = units.map((u) => cache.process(depacketizeH265(u)));
    expect(frames.every((f) => f.decodable)).toBe(true);
    expect(frames.filter((f) => f.keyframe)).toHaveLength(2);
    expect(frames[0]).toMatchObject({ keyframe: true, sps: { width: 320, height: 180, profile: 'Main' } });
  }, 30_000);
});

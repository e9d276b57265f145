import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { HlsViewers } from '../../src/origin/hls-viewers.js';
import type { StreamView } from '../../src/core/streams.js';
import { NO_STREAMS } from '../../src/live/index.js';

function req(url: string, address = '10.0.0.1', ua = 'hls.js', method = 'GET'): IncomingMessage {
  return {
    url,
    method,
    headers: { 'user-agent': ua },
    socket: { remoteAddress: address },
  } as unknown as IncomingMessage;
}

describe('HlsViewers: LL-HLS viewers from playlist requests', () => {
  it('counts distinct clients (address and User-Agent) that loaded a playlist recently', () => {
    const v = new HlsViewers({ windowMs: 10_000 });
    const t = 1_000_000;
    v.observe(req('/hls/cam/index.m3u8'), t);
    v.observe(req('/hls/cam/360p.m3u8?_HLS_msn=4&_HLS_part=1'), t + 300);
    v.observe(req('/hls/cam/360p.m3u8', '10.0.0.2'), t + 400);
    v.observe(req('/hls/cam/360p.m3u8', '10.0.0.1', 'Safari'), t + 500);
    v.observe(req('/hls/other/index.m3u8', '10.0.0.9'), t);
    expect(v.count('cam', t + 1000)).toBe(3);
    expect(v.count('other', t + 1000)).toBe(1);
    expect(v.count('nobody', t)).toBe(0);
  });

  it('forgets a client that stopped asking for longer than the window', () => {
    const v = new HlsViewers({ windowMs: 10_000 });
    v.observe(req('/hls/cam/360p.m3u8'), 0);
    v.observe(req('/hls/cam/360p.m3u8', '10.0.0.2'), 9_000);
    expect(v.count('cam', 12_000)).toBe(1);
    // A later request sweeps the old entries out of memory.
    v.observe(req('/hls/cam/360p.m3u8', '10.0.0.2'), 25_000);
    expect(v.count('cam', 25_000)).toBe(1);
  });

  it('ignores parts, segments, posters, other methods, other paths and ids no stream could have', () => {
    const v = new HlsViewers();
    for (const r of [
      req('/hls/cam/360p_4.1.m4s'),
      req('/hls/cam/poster.jpg'),
      req('/hls/cam/index.m3u8', '1.1.1.1', 'x', 'HEAD'),
      req('/api/streams'),
      req('/hls/c%2Fam/index.m3u8'),
      req('/hls/index.m3u8'),
    ])
      v.observe(r, 0);
    expect(v.count('cam', 0)).toBe(0);
  });

  it('stops remembering new clients at maxClients', () => {
    const v = new HlsViewers({ maxClients: 2 });
    for (let i = 0; i < 5; i++) v.observe(req('/hls/cam/index.m3u8', `10.0.0.${i}`), 0);
    expect(v.count('cam', 0)).toBe(2);
  });

  it("fills in each stream view's viewers.hls", async () => {
    const v = new HlsViewers();
    v.observe(req('/hls/cam/index.m3u8'));
    const view: StreamView = {
      id: 'cam',
      state: 'live',
      startedAt: '',
      playlistUrl: '',
      viewers: { whep: 2 },
    };
    expect((await v.streams(NO_STREAMS).withJob(view)).viewers).toEqual({ whep: 2, hls: 1 });
  });
});

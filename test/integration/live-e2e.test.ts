import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkMultivariantPlaylist, LlhlsTracker } from '../helpers/llhls-check.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/**
 * The whole live path in one process: a werift WHIP client pushes ffmpeg-made H.264 High
 * + Opus, the live job transcodes it into the light ladder, the origin serves LL-HLS.
 */
describe('live end to end: WHIP in, LL-HLS out', () => {
  let t: Started;
  let client: WhipTestClient | null = null;

  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  it('goes live, serves strict LL-HLS over several reloads, and ends with ENDLIST', async () => {
    const base = t.service.url;
    const posted = Date.now();
    client = await WhipTestClient.publish({ url: `${base}/whip/e2e?preset=light`, seconds: 14 });

    const master = await waitFor(
      'index.m3u8',
      async () => {
        const r = await fetch(`${base}/hls/e2e/index.m3u8`);
        return r.status === 200 ? r.text() : null;
      },
      30_000,
      100,
    );
    console.log(`POST → multivariant playlist: ${Date.now() - posted} ms`);
    checkMultivariantPlaylist(master, { video: ['360p', '240p'], audio: 'audio' });
    expect(master).toContain('#EXT-X-INDEPENDENT-SEGMENTS');

    const view = (await (await fetch(`${base}/api/streams/e2e`)).json()) as {
      state: string;
      ingest?: { video: { codec: string; width: number; profile?: string } | null };
      job?: { state: string };
      ladder?: unknown[];
    };
    expect(view.state).toBe('live');
    expect(view.ingest?.video).toMatchObject({ codec: 'h264', width: 640 });
    expect(view.job?.state).toBe('active');
    expect(view.ladder).toHaveLength(2);

    // Blocking reloads, as hls.js does them, each checked strictly.
    const renditions = ['360p', '240p', 'audio'];
    const tracker = new LlhlsTracker({ rendition: '360p', renditions, kind: 'video', ended: false });
    let text = await (await fetch(`${base}/hls/e2e/360p.m3u8`)).text();
    let p = tracker.check(text);
    for (let i = 0; i < 12; i++) {
      const last = p.segments.length ? p.mediaSequence + p.segments.length : p.mediaSequence;
      const parts = p.trailingParts?.length ?? 0;
      const started = Date.now();
      const res = await fetch(`${base}/hls/e2e/360p.m3u8?_HLS_msn=${last}&_HLS_part=${parts}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      text = await res.text();
      p = tracker.check(text);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect(tracker.reloads).toBeGreaterThan(10);

    // Per-stream figures on /metrics: ingest, parts published, publish latency.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(metrics)?.[1] ?? Number.NaN);
    expect(value(/whipcast_ingest_bitrate_kbps\{stream="e2e",kind="video"\} ([\d.]+)/)).toBeGreaterThan(0);
    expect(metrics).toMatch(/whipcast_ingest_packets_lost\{stream="e2e",kind="video"\} \d+/);
    expect(metrics).toMatch(/whipcast_ingest_nacks_sent\{stream="e2e",kind="video"\} \d+/);
    expect(metrics).toMatch(/whipcast_ingest_plis_sent\{stream="e2e",kind="video"\} \d+/);
    expect(value(/whipcast_parts_published_total\{stream="e2e",rendition="360p"\} (\d+)/)).toBeGreaterThan(5);
    expect(value(/whipcast_part_publish_latency_seconds_count\{rendition="360p"\} (\d+)/)).toBeGreaterThan(5);

    // The publisher stops: the stream ends and the playlists get ENDLIST.
    expect((await client.delete()).status).toBe(200);
    const ended = await waitFor(
      'EXT-X-ENDLIST',
      async () => {
        const body = await (await fetch(`${base}/hls/e2e/360p.m3u8`)).text();
        return body.includes('#EXT-X-ENDLIST') ? body : null;
      },
      30_000,
      200,
    );
    expect(ended).not.toContain('#EXT-X-PRELOAD-HINT');
    const after = (await (await fetch(`${base}/api/streams/e2e`)).json()) as { state: string };
    expect(after.state).toBe('ended');
  }, 120_000);
});

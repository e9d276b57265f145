import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkMediaPlaylist } from '../helpers/llhls-check.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/**
 * A 25 fps webcam on the default preset (2 s GOPs, 4 s segments, 0.333 s parts). The
 * ladder runs at the source's 25 fps from the first run (the relay reads the rate off the
 * cached GOP's timestamps; ingest's own figure needs seconds of arrivals), not 30 with
 * every fifth frame repeated. 9-frame parts would leave a 5-frame part before the key
 * frame in the middle of every segment, under the 85% of PART-TARGET that RFC 8216bis
 * 4.4.4.9 asks of every part but a segment's last: parts are 10 frames (0.4 s), five to
 * a GOP, and the strict checker passes on segments that hold two GOPs.
 */
describe('a 25 fps webcam on the default preset', () => {
  let t: Started;
  let client: WhipTestClient | null = null;

  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  it('cuts parts that divide the GOP: every part but a segment’s last at PART-TARGET', async () => {
    const base = t.service.url;
    client = await WhipTestClient.publish({
      url: `${base}/whip/pal`,
      width: 640,
      height: 360,
      fps: 25,
      gop: 50,
      seconds: 12,
      x264Preset: 'ultrafast',
    });
    // Segment 2 is the first whole 4 s one (the first is one GOP): wait until it is listed.
    const text = await waitFor(
      'two complete segments of 360p',
      async () => {
        const r = await fetch(`${base}/hls/pal/360p.m3u8`);
        if (r.status !== 200) return null;
        const body = await r.text();
        return (body.match(/#EXTINF:/g) ?? []).length >= 2 ? body : null;
      },
      30_000,
      200,
    );
    const renditions = [
      ...(await (await fetch(`${base}/hls/pal/index.m3u8`)).text()).matchAll(/^([\w-]+)\.m3u8$/gm),
    ].map((m) => m[1]!);
    const p = checkMediaPlaylist(text, { rendition: '360p', renditions, kind: 'video', ended: false });
    expect(p.partTarget).toBe(0.4);
    const second = p.segments[1]!;
    console.log('25 fps: segment 2 parts', JSON.stringify(second.parts?.map((x) => x.duration)));
    expect(second.duration).toBeCloseTo(4, 2);
    expect(second.parts?.map((x) => x.duration)).toEqual(Array(10).fill(0.4));
    expect(second.parts?.[5]?.independent).toBe(true);
    const view = (await (await fetch(`${base}/api/streams/pal`)).json()) as { ladder?: { fps: number }[] };
    expect(view.ladder?.map((r) => r.fps)).toEqual([25]);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LlhlsTracker } from '../helpers/llhls-check.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** A second publish to a live stream takes over; viewers' playlists go on across it. */
describe('live takeover', () => {
  let t: Started;
  const clients: WhipTestClient[] = [];

  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t?.close();
  });

  it('closes the old session and continues the playlists with EXT-X-DISCONTINUITY', async () => {
    const base = t.service.url;
    const first = await WhipTestClient.publish({ url: `${base}/whip/take?preset=light`, seconds: 20 });
    clients.push(first);
    const tracker = new LlhlsTracker({
      rendition: '240p',
      renditions: ['360p', '240p', 'audio'],
      kind: 'video',
    });
    const reload = async () => {
      const res = await fetch(`${base}/hls/take/240p.m3u8`);
      return res.status === 200 ? tracker.check(await res.text()) : null;
    };
    await waitFor(
      'the first session to publish parts',
      async () => (await reload())?.trailingParts?.length,
      30_000,
      200,
    );
    const firstSession = first.location;

    const second = await WhipTestClient.publish({ url: `${base}/whip/take?preset=light`, seconds: 20 });
    clients.push(second);
    expect(second.location).not.toBe(firstSession);
    // The old session is gone: its URL no longer names a session.
    await waitFor('the old session to end', async () => (await first.delete()).status === 404, 10_000, 200);

    const p = await waitFor(
      'a discontinuity in the playlist',
      async () => {
        const pl = await reload();
        return pl && (pl.segments.some((s) => s.discontinuity) || pl.trailingTags?.discontinuity) ? pl : null;
      },
      40_000,
      250,
    );
    expect(p.endList).toBeFalsy();
    const view = (await (await fetch(`${base}/api/streams/take`)).json()) as {
      state: string;
      ingest: { sessionId: string };
    };
    expect(view.state).toBe('live');
    expect(second.location).toContain(view.ingest.sessionId);
    // Parts of the new session keep coming after the discontinuity.
    const lastUri = (pl: typeof p) => pl.trailingParts?.at(-1)?.uri ?? pl.segments.at(-1)?.uri;
    const seen = lastUri(p);
    await waitFor(
      'more parts',
      async () => {
        const pl = await reload();
        return pl && lastUri(pl) !== seen;
      },
      20_000,
      300,
    );
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { checkLiveLadder, decodeFirstSegment, firstPartMs } from '../helpers/live-check.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/**
 * The built-in `passthrough` preset through the whole service: a werift WHIP publisher
 * without simulcast (H.264 High, 1 s GOP, Opus) gets one rendition, its own stream copied,
 * served as strict LL-HLS; the stream view says the layers are passed through.
 */
describe('WHIP on the passthrough preset', () => {
  let t: Started;
  let client: WhipTestClient | null = null;

  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await t?.close();
  });

  it('packages the publisher’s own H.264 as the one rendition, no encode', async () => {
    const base = t.service.url;
    client = await WhipTestClient.publish({
      url: `${base}/whip/own?preset=passthrough`,
      seconds: 10,
      gop: 30,
    });
    const ms = await firstPartMs(base, 'own', '360p', client.postedAtMs);
    console.log(`passthrough (werift, no simulcast) POST → first part: ${Math.round(ms)} ms`);
    await checkLiveLadder(base, 'own', { video: ['360p'], audio: 'audio', reloads: 4 });
    expect(await decodeFirstSegment(base, 'own', '360p')).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });
    const view = (await (await fetch(`${base}/api/streams/own`)).json()) as {
      passthrough?: { active: boolean };
      ladder?: { name: string; width: number }[];
    };
    expect(view.passthrough).toMatchObject({ active: true });
    expect(view.ladder?.map((r) => [r.name, r.width])).toEqual([['360p', 640]]);
  }, 60_000);
});

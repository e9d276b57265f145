import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RedisLiveBus, liveChannel, type LiveEvent } from '../../src/packager/live-bus.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

/** The Redis transport of live events, against the test Redis (REDIS_URL from the global setup). */
describe('RedisLiveBus', () => {
  const url = process.env.REDIS_URL!;
  const owned: { close(): Promise<unknown> }[] = [];
  const bus = (prefix: string) => {
    const b = new RedisLiveBus({ url, prefix });
    owned.push(b);
    return b;
  };
  const f = new TimelineFeed();
  f.beginRun();
  f.parts(3);
  const event = (streamId: string): LiveEvent => ({
    v: 1,
    streamId,
    rendition: 'v',
    state: f.t.state,
    part: { msn: 1, part: 2, uri: 'v_1.2.m4s' },
    at: Date.now(),
  });
  const until = async (cond: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  };

  afterEach(async () => {
    await Promise.all(owned.splice(0).map((o) => o.close()));
  });

  it('carries events from a publishing process to a subscribing one, in order', async () => {
    const prefix = `t-bus-${process.pid}-${Date.now()}`;
    const sub = bus(prefix);
    const got: LiveEvent[] = [];
    sub.subscribe((e) => got.push(e));
    await sub.ready();
    const pub = bus(prefix);
    for (const id of ['a', 'b', 'c']) await pub.publish(event(id));
    await until(() => got.length === 3);
    expect(got.map((e) => e.streamId)).toEqual(['a', 'b', 'c']);
    expect(got[0]).toEqual({ ...JSON.parse(JSON.stringify(event('a'))), at: expect.any(Number) });
  });

  it('keeps deployments with different prefixes apart and drops malformed messages', async () => {
    const prefix = `t-bus2-${process.pid}-${Date.now()}`;
    const sub = bus(prefix);
    const got: LiveEvent[] = [];
    sub.subscribe((e) => got.push(e));
    await sub.ready();
    await bus(`${prefix}-other`).publish(event('x'));
    const raw = new Redis(url);
    owned.push({ close: () => raw.quit() });
    await raw.publish(liveChannel(prefix, 'y'), '{"v":1,"nope":true}');
    await raw.publish(liveChannel(prefix, 'y'), 'not json');
    // A valid event on the wrong stream's channel is dropped too.
    await raw.publish(liveChannel(prefix, 'y'), JSON.stringify(event('z')));
    const ok = bus(prefix);
    await ok.publish(event('w'));
    await until(() => got.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((e) => e.streamId)).toEqual(['w']);
  });

  it('closes idempotently and ignores publishes after close', async () => {
    const b = bus(`t-bus3-${process.pid}`);
    await b.publish(event('a'));
    await b.close();
    await b.close();
    await expect(b.publish(event('a'))).resolves.toBeUndefined();
  });
});

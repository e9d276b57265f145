import { afterEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { LiveEvent } from '../../src/packager/live/bus.js';
import { joinLiveBuses, LocalLiveBus } from '../../src/packager/live/bus.js';
import {
  decodeLiveMessage,
  encodeLiveMessage,
  liveChannel,
  RedisLiveBus,
} from '../../src/packager/live/redis-bus.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';

const feed = new TimelineFeed();
feed.beginRun();
feed.parts(3);
/** A live event of stream `streamId` publishing part 1.2, with the part's bytes when given. */
const liveEvent = (streamId: string, partBody?: Buffer): LiveEvent => ({
  v: 1,
  streamId,
  rendition: 'v',
  state: feed.t.state,
  part: { msn: 1, part: 2, uri: 'v_1.2.m4s' },
  at: Date.now(),
  ...(partBody ? { partBody } : {}),
});

/** The Redis transport of live events, against the test Redis (REDIS_URL from the global setup). */
describe('RedisLiveBus', () => {
  const url = process.env.REDIS_URL!;
  const owned: { close(): Promise<unknown> }[] = [];
  const bus = (prefix: string) => {
    const b = new RedisLiveBus({ url, prefix });
    owned.push(b);
    return b;
  };
  const event = (streamId: string): LiveEvent => liveEvent(streamId);
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

describe('the live bus of a process', () => {
  const url = process.env.REDIS_URL!;
  const f = feed;
  const body = Buffer.alloc(100 * 1024, 7);
  const event = (streamId: string): LiveEvent => liveEvent(streamId, body);
  const until = async (cond: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  };
  const owned: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(owned.splice(0).map((o) => o.close()));
  });

  it('delivers in-process at once, with the part, and sends nothing to Redis while no other process listens', async () => {
    const prefix = `t-local-${process.pid}-${Date.now()}`;
    const redis = new RedisLiveBus({ url, prefix, listenersEveryMs: 50 });
    const bus = joinLiveBuses(new LocalLiveBus(), redis);
    owned.push(bus);
    const here: LiveEvent[] = [];
    bus.subscribe((e) => here.push(e));
    await bus.ready();
    void bus.publish(event('a'));
    // Synchronous: the subscriber has it before publish() returns.
    expect(here).toHaveLength(1);
    expect(here[0]!.partBody!.equals(body)).toBe(true);
    // A copy of the state: the packager goes on changing its own.
    expect(here[0]!.state).not.toBe(f.t.state);
    expect(here[0]!.state).toEqual(f.t.state);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 5; i++) await bus.publish(event('a'));
    expect(here).toHaveLength(6);
    expect(redis.stats.sent).toBeLessThanOrEqual(1); // at most the first, before it knew
    expect(redis.stats.skipped).toBeGreaterThanOrEqual(5);

    // Another process (an API process elsewhere) subscribes: events go to it, part bytes included.
    const other = new RedisLiveBus({ url, prefix });
    owned.push(other);
    const there: LiveEvent[] = [];
    other.subscribe((e) => there.push(e));
    await other.ready();
    let sentB = 0;
    await until(() => {
      sentB++;
      void bus.publish(event('b'));
      return there.length > 0;
    });
    expect(there[0]!.streamId).toBe('b');
    expect(there[0]!.partBody!.equals(body)).toBe(true);
    expect(redis.stats.sent).toBeGreaterThan(0);
    // This process heard each of its own events once: in-process, never again from Redis.
    await new Promise((r) => setTimeout(r, 200));
    expect(here.filter((e) => e.streamId === 'b')).toHaveLength(sentB);
  });

  it('frames carry the part bytes only up to the limit, and refuse malformed frames', () => {
    const e = event('c');
    const small = decodeLiveMessage(encodeLiveMessage(e, 'me', 1024 * 1024))!;
    expect(small.sender).toBe('me');
    expect(small.event.partBody!.equals(body)).toBe(true);
    const big = decodeLiveMessage(encodeLiveMessage(e, 'me', 1000))!;
    expect(big.event.partBody).toBeUndefined();
    expect(big.event.state).toEqual(JSON.parse(JSON.stringify(f.t.state)));
    const frame = encodeLiveMessage(e, 'me', 1024 * 1024);
    expect(decodeLiveMessage(frame.subarray(0, 20))).toBeNull();
    expect(decodeLiveMessage(Buffer.from(JSON.stringify(e)))).toBeNull();
    // Bytes after an event that published no part.
    const noPart = encodeLiveMessage({ ...e, part: null }, 'me', 1024 * 1024);
    expect(decodeLiveMessage(Buffer.concat([noPart, Buffer.from('x')]))).toBeNull();
  });
});

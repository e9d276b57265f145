import { describe, expect, it } from '@jest/globals';
import { LivePosters } from '../../src/origin/live-posters.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A poster maker that counts its calls; each call's picture says which call it was. */
function maker(o: { ms?: number; fail?: boolean; nothing?: boolean } = {}) {
  const calls: string[] = [];
  const signals: AbortSignal[] = [];
  const make = async (id: string, signal: AbortSignal): Promise<Buffer | null> => {
    calls.push(id);
    signals.push(signal);
    await delay(o.ms ?? 0);
    if (o.fail) throw new Error('ffmpeg failed');
    return o.nothing ? null : Buffer.from(`${id}#${calls.length}`);
  };
  return { make, calls, signals };
}

describe('LivePosters', () => {
  it('makes one poster for many requests at once, and keeps it for the refresh time', async () => {
    const m = maker({ ms: 20 });
    const posters = new LivePosters({ make: m.make, refreshMs: 200 });
    const all = await Promise.all([1, 2, 3, 4, 5].map(() => posters.get('cam')));
    expect(m.calls).toEqual(['cam']);
    expect(new Set(all.map((p) => p?.body.toString()))).toEqual(new Set(['cam#1']));
    expect((await posters.get('cam'))?.etag).toBe(all[0]?.etag);
    expect(m.calls).toHaveLength(1);
    await delay(220);
    expect((await posters.get('cam'))?.body.toString()).toBe('cam#2');
    await posters.close();
  });

  it('makes nothing for a stream nobody asks about', async () => {
    const m = maker();
    const posters = new LivePosters({ make: m.make, refreshMs: 50 });
    await posters.get('a');
    await delay(200);
    expect(m.calls).toEqual(['a']);
    await posters.close();
  });

  it('does not retry a failure before the refresh time, and answers null meanwhile', async () => {
    const m = maker({ fail: true });
    const posters = new LivePosters({ make: m.make, refreshMs: 10_000 });
    expect(await posters.get('cam')).toBeNull();
    expect(await posters.get('cam')).toBeNull();
    expect(m.calls).toHaveLength(1);
    const none = maker({ nothing: true });
    const empty = new LivePosters({ make: none.make, refreshMs: 10_000 });
    expect(await empty.get('x')).toBeNull();
    await Promise.all([posters.close(), empty.close()]);
  });

  it('answers the previous poster when a refresh is slow', async () => {
    let slow = false;
    const make = async (_id: string): Promise<Buffer> => {
      if (slow) await delay(300);
      return Buffer.from(slow ? 'new' : 'old');
    };
    const posters = new LivePosters({ make, refreshMs: 10, waitMs: 30 });
    expect((await posters.get('cam'))?.body.toString()).toBe('old');
    slow = true;
    await delay(20);
    expect((await posters.get('cam'))?.body.toString()).toBe('old');
    await delay(320);
    expect((await posters.get('cam'))?.body.toString()).toBe('new');
    await posters.close();
  });

  it('runs at most maxRunning makers at once over all streams', async () => {
    let running = 0;
    let most = 0;
    const make = async (id: string): Promise<Buffer> => {
      running += 1;
      most = Math.max(most, running);
      await delay(20);
      running -= 1;
      return Buffer.from(id);
    };
    const posters = new LivePosters({ make, maxRunning: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => posters.get(id)));
    expect(most).toBe(2);
    await posters.close();
  });

  it('close() aborts the runs in flight, waits for them, and is idempotent', async () => {
    const m = maker({ ms: 50 });
    const posters = new LivePosters({ make: m.make });
    const pending = posters.get('cam');
    await delay(5);
    const closing = posters.close();
    expect(posters.close()).toBe(closing);
    expect(m.signals[0]?.aborted).toBe(true);
    await closing;
    await pending;
    expect(await posters.get('cam')).toBeNull();
  });
});

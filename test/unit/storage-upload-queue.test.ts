import { describe, expect, it } from '@jest/globals';
import {
  UploadQueue,
  backoffMs,
  retrying,
  type RetryPolicy,
  type UploadQueueOptions,
} from '../../src/packager/storage/upload-queue.js';

class Transient extends Error {}
const policy: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  retryable: (e) => e instanceof Transient,
};

/** A fake store: every upload waits until the test settles it. */
class FakeStore {
  readonly started: string[] = [];
  readonly stored: string[] = [];
  readonly #pending = new Map<string, Array<{ ok: () => void; fail: (e: unknown) => void }>>();

  upload(key: string): () => Promise<void> {
    return () =>
      new Promise<void>((resolve, reject) => {
        this.started.push(key);
        const list = this.#pending.get(key) ?? [];
        list.push({
          ok: () => {
            this.stored.push(key);
            resolve();
          },
          fail: reject,
        });
        this.#pending.set(key, list);
      });
  }

  finish(key: string, err?: unknown): void {
    const p = this.#pending.get(key)?.shift();
    if (!p) throw new Error(`no upload of ${key} under way`);
    if (err) p.fail(err);
    else p.ok();
  }

  get inFlight(): number {
    let n = 0;
    for (const l of this.#pending.values()) n += l.length;
    return n;
  }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function queue(o: Partial<UploadQueueOptions> = {}): { q: UploadQueue; sleeps: number[] } {
  const sleeps: number[] = [];
  const q = new UploadQueue({
    maxBytes: 1000,
    maxObjects: 3,
    concurrency: 2,
    retry: policy,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
    ...o,
  });
  return { q, sleeps };
}

describe('backoffMs', () => {
  it('doubles from baseDelayMs up to maxDelayMs, with half of it random', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((a) => backoffMs(a, policy, () => 0))).toEqual([50, 100, 200]);
  });
});

describe('retrying', () => {
  it('retries transient errors up to the attempt limit, then throws the last one', async () => {
    let calls = 0;
    const retried: number[] = [];
    await expect(
      retrying(
        async () => {
          calls++;
          throw new Transient(`try ${calls}`);
        },
        policy,
        { sleep: async () => undefined, onRetry: (_e, a) => retried.push(a) },
      ),
    ).rejects.toThrow('try 4');
    expect(calls).toBe(4);
    expect(retried).toEqual([1, 2, 3]);
  });

  it('does not retry an error that is not transient', async () => {
    let calls = 0;
    await expect(
      retrying(
        async () => {
          calls++;
          throw new Error('403');
        },
        policy,
        { sleep: async () => undefined },
      ),
    ).rejects.toThrow('403');
    expect(calls).toBe(1);
  });
});

describe('UploadQueue', () => {
  it('runs at most `concurrency` uploads and resolves each put once stored', async () => {
    const { q } = queue({ maxObjects: 10 });
    const s = new FakeStore();
    const done: string[] = [];
    const puts = ['a', 'b', 'c'].map((k) => q.submit(k, 10, s.upload(k)).then(() => done.push(k)));
    await flush();
    expect(s.started).toEqual(['a', 'b']);
    expect(q.stats()).toMatchObject({ backlogObjects: 3, backlogBytes: 30, uploading: 2, waiting: 0 });
    s.finish('b');
    await flush();
    expect(done).toEqual(['b']);
    expect(s.started).toEqual(['a', 'b', 'c']);
    s.finish('a');
    s.finish('c');
    await Promise.all(puts);
    expect(q.stats()).toMatchObject({ backlogObjects: 0, backlogBytes: 0, uploaded: 3, uploadFailures: 0 });
  });

  it('back-pressure: a put waits for room when the object limit is reached, first come first admitted', async () => {
    const full: number[] = [];
    const { q } = queue({ maxObjects: 2, concurrency: 1, onFull: (st) => full.push(st.waiting) });
    const s = new FakeStore();
    const admittedOrder: string[] = [];
    const puts = ['a', 'b', 'c', 'd'].map((k) =>
      q.submit(k, 1, async () => {
        admittedOrder.push(k);
        await s.upload(k)();
      }),
    );
    await flush();
    expect(q.stats()).toMatchObject({ backlogObjects: 2, waiting: 2, fullEvents: 2 });
    // One warning for the burst, not one per object.
    expect(full).toEqual([1]);
    for (const k of ['a', 'b', 'c', 'd']) {
      await flush();
      s.finish(k);
    }
    await Promise.all(puts);
    expect(admittedOrder).toEqual(['a', 'b', 'c', 'd']);
    expect(s.stored).toEqual(['a', 'b', 'c', 'd']);
  });

  it('bounds the bytes admitted; an object bigger than the limit goes alone', async () => {
    const { q } = queue({ maxBytes: 100, maxObjects: 10, concurrency: 10 });
    const s = new FakeStore();
    const small1 = q.submit('s1', 60, s.upload('s1'));
    const small2 = q.submit('s2', 60, s.upload('s2'));
    const huge = q.submit('huge', 500, s.upload('huge'));
    await flush();
    expect(s.started).toEqual(['s1']);
    expect(q.stats()).toMatchObject({ backlogBytes: 60, waiting: 2 });
    s.finish('s1');
    await small1;
    await flush();
    expect(s.started).toEqual(['s1', 's2']);
    s.finish('s2');
    await small2;
    await flush();
    expect(q.stats()).toMatchObject({ backlogBytes: 500, backlogObjects: 1 });
    s.finish('huge');
    await huge;
  });

  it('the full warning is rate limited by the clock', async () => {
    let now = 0;
    const full: number[] = [];
    const { q } = queue({
      maxObjects: 1,
      concurrency: 1,
      fullNoticeMs: 1000,
      now: () => now,
      onFull: () => full.push(now),
    });
    const s = new FakeStore();
    const puts = [q.submit('a', 1, s.upload('a')), q.submit('b', 1, s.upload('b'))];
    now = 500;
    puts.push(q.submit('c', 1, s.upload('c')));
    now = 1500;
    puts.push(q.submit('d', 1, s.upload('d')));
    expect(full).toEqual([0, 1500]);
    for (const k of ['a', 'b', 'c', 'd']) {
      await flush();
      s.finish(k);
    }
    await Promise.all(puts);
  });

  it('retries a transient failure with growing waits, counts retries, frees the room', async () => {
    const { q, sleeps } = queue();
    let calls = 0;
    await q.submit('k', 10, async () => {
      calls++;
      if (calls < 3) throw new Transient('503');
    });
    expect(calls).toBe(3);
    expect(sleeps).toEqual([100, 200]);
    expect(q.stats()).toMatchObject({ retries: 2, uploaded: 1, uploadFailures: 0, backlogBytes: 0 });
  });

  it('gives up after the attempt limit or at once on a permanent error, and counts the failure', async () => {
    const { q } = queue();
    await expect(
      q.submit('k', 10, async () => {
        throw new Transient('still down');
      }),
    ).rejects.toThrow('still down');
    await expect(
      q.submit('j', 10, async () => {
        throw new Error('AccessDenied');
      }),
    ).rejects.toThrow('AccessDenied');
    expect(q.stats()).toMatchObject({ retries: 3, uploadFailures: 2, backlogObjects: 0, backlogBytes: 0 });
  });

  it('uploads two puts of one key in call order, even when the first is slow', async () => {
    const { q } = queue({ concurrency: 4 });
    const s = new FakeStore();
    const first = q.submit('p.m3u8', 1, s.upload('p.m3u8'));
    const second = q.submit('p.m3u8', 1, s.upload('p.m3u8'));
    await flush();
    expect(s.inFlight).toBe(1);
    s.finish('p.m3u8');
    await first;
    await flush();
    expect(s.inFlight).toBe(1);
    s.finish('p.m3u8');
    await second;
    expect(s.stored).toEqual(['p.m3u8', 'p.m3u8']);
  });

  it('close() refuses new puts, waits for the ones under way and waiting, and is idempotent', async () => {
    const { q } = queue({ maxObjects: 1, concurrency: 1 });
    const s = new FakeStore();
    const a = q.submit('a', 1, s.upload('a'));
    const b = q.submit('b', 1, s.upload('b'));
    let closed = false;
    const c1 = q.close().then(() => (closed = true));
    expect(q.close()).toBe(q.close());
    await expect(q.submit('c', 1, s.upload('c'))).rejects.toMatchObject({ code: 'unavailable' });
    await flush();
    s.finish('a');
    await a;
    await flush();
    expect(closed).toBe(false);
    s.finish('b');
    await b;
    await c1;
    expect(closed).toBe(true);
    expect(s.stored).toEqual(['a', 'b']);
  });
});

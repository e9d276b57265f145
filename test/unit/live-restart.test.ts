import { describe, expect, it } from '@jest/globals';
import { RestartPolicy } from '../../src/workers/live-restart.js';

describe('RestartPolicy (live ffmpeg restarts)', () => {
  it('backs off 200, 400, 800, 1600 ms and gives up at the fifth crash within a minute', () => {
    const p = new RestartPolicy();
    expect([p.fail(0), p.fail(1000), p.fail(2000), p.fail(3000)]).toEqual([200, 400, 800, 1600]);
    expect(p.fail(4000)).toBeNull();
    expect(p.recentFailures).toBe(5);
  });

  it('caps the delay at 3 s and forgets crashes older than the window', () => {
    const p = new RestartPolicy();
    const delays: (number | null)[] = [];
    // One crash every 20 s: never five within a minute.
    for (let i = 0; i < 8; i++) delays.push(p.fail(i * 20_000));
    expect(delays).toEqual([200, 400, 800, 1600, 3000, 3000, 3000, 3000]);
    expect(p.recentFailures).toBe(3);
  });

  it('starts again from the first step after succeed()', () => {
    const p = new RestartPolicy({ maxFailures: 100 });
    p.fail(0);
    p.fail(1);
    p.succeed();
    expect(p.fail(2)).toBe(200);
  });

  it('refuses nonsense options', () => {
    expect(() => new RestartPolicy({ baseDelayMs: 0 })).toThrow(RangeError);
    expect(() => new RestartPolicy({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow(RangeError);
  });
});

import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { AuthFailures } from '../../src/api/auth-failures.js';
import { createLogger } from '../../src/core/log.js';

function captured(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

describe('failed authentications per client', () => {
  it('refuses a client that failed the limit this window, until the window ends, with one log line', async () => {
    let now = 1_000_000;
    const { lines, log } = captured();
    const f = new AuthFailures({ perWindow: 3, windowMs: 60_000, log, now: () => now });
    for (let i = 0; i < 2; i++) f.fail('198.51.100.1', 'whipcast-api');
    expect(f.retryAfterS('198.51.100.1')).toBe(0);
    f.fail('198.51.100.1', 'whipcast-api');
    expect(f.retryAfterS('198.51.100.1')).toBe(60);
    // Others are not touched.
    expect(f.retryAfterS('198.51.100.2')).toBe(0);
    for (let i = 0; i < 100; i++) f.fail('198.51.100.1', 'whipcast-api');
    now += 45_000;
    expect(f.retryAfterS('198.51.100.1')).toBe(15);
    now += 15_000;
    expect(f.retryAfterS('198.51.100.1')).toBe(0);
    await new Promise((r) => setImmediate(r));
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; client?: string; msg: string });
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 40,
        client: '198.51.100.1',
        msg: expect.stringMatching(/too many failed/),
      }),
    ]);
  });
});

import type { Request } from 'express';
import { describe, expect, it } from '@jest/globals';
import { hostName, siteGuard } from '../../src/api/site-guard.js';
import { AppError } from '../../src/core/errors.js';

/** What the guard passed on: undefined (let through) or the error it refused with. */
function run(guard: ReturnType<typeof siteGuard>, method: string, headers: Record<string, string>): unknown {
  let out: unknown = 'not called';
  guard({ method, headers } as unknown as Request, {} as never, (e?: unknown) => void (out = e));
  return out;
}

const refused = (v: unknown) => v instanceof AppError && v.code === 'forbidden';

describe('the loopback-mode site guard', () => {
  it('reads host names out of Host headers', () => {
    expect(hostName('127.0.0.1:8080')).toBe('127.0.0.1');
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('Video.Example.COM')).toBe('video.example.com');
    expect(hostName('a b')).toBeNull();
    expect(hostName('')).toBeNull();
  });

  it("takes PUBLIC_URL's host and pages of its origin, behind a proxy that rewrites Host or not", () => {
    const g = siteGuard({ token: 'API_TOKEN', publicUrl: 'https://video.example.com' });
    expect(
      run(g, 'POST', { host: 'video.example.com', origin: 'https://video.example.com' }),
    ).toBeUndefined();
    expect(run(g, 'POST', { host: '127.0.0.1:8080', origin: 'https://video.example.com' })).toBeUndefined();
    expect(refused(run(g, 'POST', { host: '127.0.0.1:8080', origin: 'https://evil.example' }))).toBe(true);
    expect(refused(run(g, 'GET', { host: 'evil.example' }))).toBe(true);
  });

  it('lets reads through from any page, and writes from clients that are not browsers', () => {
    const g = siteGuard({ token: 'API_TOKEN', publicUrl: null });
    expect(run(g, 'GET', { host: '127.0.0.1:8080', origin: 'https://evil.example' })).toBeUndefined();
    expect(run(g, 'DELETE', { host: 'localhost:8080' })).toBeUndefined();
    expect(run(g, 'DELETE', { host: 'localhost:8080', 'sec-fetch-site': 'same-origin' })).toBeUndefined();
    expect(refused(run(g, 'DELETE', { host: 'localhost:8080', 'sec-fetch-site': 'same-site' }))).toBe(true);
    expect(refused(run(g, 'PUT', { host: 'localhost:8080', origin: 'http://127.0.0.1:8080' }))).toBe(true);
    expect(refused(run(g, 'POST', {}))).toBe(true); // no Host at all
  });
});

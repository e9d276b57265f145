import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../core/errors.js';

/** Constant-time comparison of a presented token with the configured one. */
export function tokenMatches(presented: string, expected: string): boolean {
  // Hashing first makes the comparison length-independent as well as constant-time.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

/**
 * Guards mutating API calls with API_TOKEN. Unset token: open, which config only
 * allows on a loopback bind.
 */
export function requireToken(expected: string | undefined, realm: string): RequestHandler {
  return (req, res, next) => {
    if (expected === undefined) return next();
    const presented = bearerToken(req.get('authorization'));
    if (presented !== null && tokenMatches(presented, expected)) return next();
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    next(new AppError('unauthorized', 'a valid Bearer token is required'));
  };
}

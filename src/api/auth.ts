import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { clientResolver, type ClientOf } from '../core/client-address.js';
import type { TrustProxy } from '../core/config.js';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { AuthFailures } from './auth-failures.js';

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

/** What every token check shares: who the client is, and its failed attempts so far. */
export interface ClientGuards {
  clientOf: ClientOf;
  authFailures: AuthFailures;
}

/**
 * One view of who a client is (TRUST_PROXY) and one count of its failed token checks,
 * shared by every per-client limit and every token of an app.
 */
export function clientGuards(o: {
  trustProxy: TrustProxy;
  authFailuresPerMinute: number;
  log: Logger;
}): ClientGuards {
  return {
    clientOf: clientResolver(o.trustProxy),
    authFailures: new AuthFailures({ perWindow: o.authFailuresPerMinute, log: o.log }),
  };
}

/**
 * Guards a route with a Bearer token (API_TOKEN, PUBLISH_TOKEN, VIEW_TOKEN). Unset token:
 * open, which config only allows on a loopback bind. A client that sent too many wrong
 * tokens this minute (AUTH_FAILURES_PER_MINUTE) gets 429 with Retry-After before its token
 * is looked at.
 */
export function requireToken(
  expected: string | undefined,
  realm: string,
  guards: ClientGuards,
): RequestHandler {
  return (req, res, next) => {
    if (expected === undefined) return next();
    const client = guards.clientOf(req);
    const wait = guards.authFailures.retryAfterS(client);
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      return next(
        new AppError(
          'too_many_requests',
          `too many failed authentications from this client; retry in ${wait} s`,
        ),
      );
    }
    const presented = bearerToken(req.get('authorization'));
    if (presented !== null && tokenMatches(presented, expected)) return next();
    // A request with no token guesses nothing (a page that forgot it, a probe): only a
    // wrong token counts.
    if (presented !== null) guards.authFailures.fail(client, realm);
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    next(new AppError('unauthorized', 'a valid Bearer token is required'));
  };
}

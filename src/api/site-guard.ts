import type { RequestHandler } from 'express';
import { isLoopback } from '../core/config.js';
import { AppError } from '../core/errors.js';

/**
 * What an open endpoint (no token guards it: loopback mode) takes from browsers. A web
 * page the operator opens can send a form or `fetch` to 127.0.0.1 without a preflight (a
 * multipart POST is a "simple" request), and DNS rebinding makes a page's own host name
 * resolve to 127.0.0.1, so its requests become same-origin to it. So: the Host a request
 * is addressed to must be a loopback name or PUBLIC_URL's host (a rebound name is
 * neither), and a request that changes something must come from a page of this server's
 * own origin (Origin, or Sec-Fetch-Site where a browser sends no Origin). Clients that are
 * not browsers (curl, OBS, ffmpeg) send neither header and are unaffected.
 */

/** Methods that change nothing: a cross-site page may not read their answers anyway (no CORS). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `[::1]:8080` → `::1`, `Example.COM:80` → `example.com`; null when it is not a host. */
export function hostName(host: string): string | null {
  const h = host.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h) ?? /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m?.[1] ?? null;
}

/** A header value fit to quote in an error: printable, short. */
function shown(v: string): string {
  return JSON.stringify(v.replace(/[^\x20-\x7e]/g, '?').slice(0, 100));
}

export interface SiteGuardOptions {
  /** The variable that, set, would protect these routes with a token (for the error text). */
  token: string;
  /** PUBLIC_URL when set: its host is ours, and its origin is a page of ours. */
  publicUrl: string | null;
}

/** Refuses (403) requests to a foreign Host, and writes from another site's pages. */
export function siteGuard(o: SiteGuardOptions): RequestHandler {
  const publicUrl = o.publicUrl === null ? null : new URL(o.publicUrl);
  const publicHost = publicUrl === null ? null : hostName(publicUrl.host);
  const ours = (name: string | null) => name !== null && (isLoopback(name) || name === publicHost);
  const why = `${o.token} is unset, so this server answers its own pages only`;
  return (req, _res, next) => {
    const host = req.headers.host ?? '';
    if (!ours(hostName(host))) {
      return next(
        new AppError(
          'forbidden',
          `the Host ${shown(host)} is not this server's: ${why} (a loopback name or PUBLIC_URL's host)`,
        ),
      );
    }
    if (SAFE.has(req.method)) return next();
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let url: URL | null = null;
      try {
        url = new URL(origin);
      } catch {
        // `null` (a sandboxed frame, a file: page) and garbage: no page of ours
      }
      const same = url !== null && (url.host === host.toLowerCase() || url.origin === publicUrl?.origin);
      if (!same) {
        return next(
          new AppError('forbidden', `a request from the page at ${shown(origin)} is refused: ${why}`),
        );
      }
      return next();
    }
    // Browsers that send no Origin still say where the request comes from.
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      return next(new AppError('forbidden', `a request from another site is refused: ${why}`));
    }
    next();
  };
}

import express, { type RequestHandler, type Response } from 'express';
import { AppError } from '../../core/errors.js';

/** What WHIP and WHEP share at the HTTP edge: SDP bodies, CORS, ICE-server links, If-Match. */

/** Largest SDP offer or fragment taken (a real offer is 2 to 10 KiB). */
export const SDP_BODY_LIMIT_BYTES = 128 * 1024;

export const SDP = 'application/sdp';
export const FRAGMENT = 'application/trickle-ice-sdpfrag';

/** Browsers publish and play from other origins (a CDN's page, a studio app). */
export function cors(res: Response): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', 'Location, ETag, Link, Accept-Post, Accept-Patch');
}

/** One Link header per ICE server (RFC 9725 4.4). */
export function iceLinks(res: Response, servers: readonly string[]): void {
  if (servers.length === 0) return;
  res.setHeader(
    'Link',
    servers.map((u) => `<${u}>; rel="ice-server"`),
  );
}

/** Exactly this media type (parameters such as charset allowed), else 415. */
export function requireType(type: string): RequestHandler {
  return (req, _res, next) => {
    const got = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase().slice(0, 80);
    if (got !== type) {
      return next(new AppError('unsupported_media_type', `the body must be ${type} (got ${got || 'none'})`));
    }
    next();
  };
}

/** The body as text, at most SDP_BODY_LIMIT_BYTES (413 beyond). */
export const readText = express.text({ type: () => true, limit: SDP_BODY_LIMIT_BYTES });

export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : '';
}

/** If-Match (RFC 9110 13.1.1): `*` or a list of entity tags; weak tags never match. */
export function ifMatchAllows(header: string, etag: string): boolean {
  return header
    .split(',')
    .map((t) => t.trim())
    .some((t) => t === '*' || t === etag);
}

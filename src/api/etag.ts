import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * Conditional GETs for JSON that pages poll (jobs, workers, streams, presets): a weak
 * ETag over the body and `Cache-Control: no-cache`, so a browser's fetch revalidates on
 * every poll and an unchanged list costs a 304 with no body. Weak (RFC 9110 8.8.1): the
 * tag says "same JSON", not "same bytes". The app's own etag setting stays off: the
 * origin's strong ETags are computed apart (routes/hls.ts).
 */
export function weakEtagJson(): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      if (res.statusCode !== 200) return json(body);
      const tag = `W/"${createHash('sha1').update(JSON.stringify(body)).digest('base64url')}"`;
      res.setHeader('ETag', tag);
      res.setHeader('Cache-Control', 'no-cache');
      if (matches(req.headers['if-none-match'], tag)) {
        res.status(304).end();
        return res;
      }
      return json(body);
    };
    next();
  };
}

/** RFC 9110 13.1.2: If-None-Match uses the weak comparison. */
function matches(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const bare = tag.slice(2);
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === bare;
  });
}

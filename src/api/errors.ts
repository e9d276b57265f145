import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { z } from 'zod';
import { AppError, ErrorCodeSchema, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { zodToAppError } from '../core/presets/validation.js';

/** The error body of every JSON endpoint (CONTRACT.md). */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: ErrorCodeSchema,
      message: z.string().describe('For people; names the field and what it allows.'),
      field: z
        .string()
        .optional()
        .describe('The request field at fault as a dotted path, e.g. `ladder.0.width`.'),
    }),
  })
  .describe('Every JSON error. SDP endpoints (WHIP, WHEP) answer errors as plain text instead.');
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export interface ErrorHandlerOptions {
  /**
   * Paths whose clients speak SDP, not JSON (WHIP, WHEP): their errors are
   * `text/plain`, as CONTRACT.md says. Default `/whip/` and `/whep/`.
   */
  plainTextPrefixes?: readonly string[];
}

export const GENERIC_500 = 'internal error; the server log has the details';

/** The status codes of errors from express's own middleware (body-parser, router) that we expect. */
const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

interface HttpError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  expose?: unknown;
  limit?: unknown;
  message?: unknown;
}

/**
 * Anything thrown in a request as an AppError. What is not ours, zod's or a known
 * client error from express's middleware becomes `internal`, whose message is never
 * shown to the client (it may hold paths, SQL-like detail, or worse).
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.core.$ZodError) return zodToAppError(err);
  if (err instanceof URIError) {
    return new AppError('bad_request', 'the URL has malformed percent-encoding', { cause: err });
  }
  if (typeof err === 'object' && err !== null) {
    const h = err as HttpError;
    const status = typeof h.status === 'number' ? h.status : h.statusCode;
    const message = typeof h.message === 'string' ? h.message : '';
    switch (h.type) {
      case 'entity.parse.failed':
        return new AppError('bad_json', `the body is not valid JSON: ${message}`, { cause: err });
      case 'entity.too.large':
        return new AppError(
          'payload_too_large',
          typeof h.limit === 'number' ? `the body is larger than ${h.limit} bytes` : 'the body is too large',
          { cause: err },
        );
      case 'charset.unsupported':
      case 'encoding.unsupported':
        return new AppError('unsupported_media_type', message, { cause: err });
    }
    // http-errors marks the messages that are safe to show with `expose`.
    if (typeof status === 'number' && status >= 400 && status < 500 && h.expose === true) {
      return new AppError(BY_STATUS[status] ?? 'bad_request', message, { cause: err });
    }
  }
  return new AppError('internal', GENERIC_500, { cause: err });
}

function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0]?.slice(0, 300) ?? '';
}

/**
 * The last middleware of the app: maps errors to `{"error": {code, message, field?}}`
 * with the AppError's status. Server-side failures are logged with their cause; client
 * errors are not (they would let any client fill the log).
 */
export function errorHandler(log: Logger, opts: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const plain = opts.plainTextPrefixes ?? ['/whip/', '/whep/'];
  return (err: unknown, req, res, next) => {
    // Too late to answer with an error: express closes the connection.
    if (res.headersSent) return next(err);
    const e = toAppError(err);
    const status = e.status;
    // A 503 is a refusal whose cause (draining, a full node, Redis away) is logged once
    // where it arises; a line per refused request would let a retrying client fill the log.
    if (e.code === 'unavailable') {
      log.debug({ method: req.method, path: pathOf(req), reason: e.message }, 'request refused');
    } else if (status >= 500) {
      log.error({ err, method: req.method, path: pathOf(req), code: e.code }, 'request failed');
    }
    const message = e.code === 'internal' ? GENERIC_500 : e.message;
    res.status(status).setHeader('Cache-Control', 'no-store');
    const p = pathOf(req);
    if (plain.some((prefix) => p.startsWith(prefix))) {
      res.type('text/plain').send(message);
      return;
    }
    const body: ErrorBody = { error: { code: e.code, message } };
    if (e.field !== undefined) body.error.field = e.field;
    res.json(body);
  };
}

/** Any request no route answered: 404 in the same JSON shape as every other error. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route for ${req.method} ${pathOf(req)}`));
};

import express, { type RequestHandler } from 'express';
import { AppError } from '../core/errors.js';

/** Large enough for any preset (six rungs and every option come to ~3 KiB), small enough to refuse abuse. */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024;

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Parses `application/json` bodies of POST, PUT and PATCH, and refuses any other
 * content type with 415 rather than leaving `req.body` unset for the route to
 * misread. Strict: the top level must be an object or an array. Errors go to the
 * error handler (src/api/errors.ts), which maps them to bad_json, payload_too_large
 * and unsupported_media_type. A body parsed by an earlier jsonBody is not read again.
 */
export function jsonBody(limitBytes: number = JSON_BODY_LIMIT_BYTES): RequestHandler {
  const parse = express.json({ limit: limitBytes, strict: true, type: 'application/json' });
  return (req, res, next) => {
    if (!WITH_BODY.has(req.method)) return next();
    if (!req.is('application/json')) {
      return next(
        new AppError(
          'unsupported_media_type',
          `${req.method} takes a JSON body (Content-Type: application/json)`,
        ),
      );
    }
    parse(req, res, next);
  };
}

import { z } from 'zod';

/**
 * The error vocabulary. Roles throw `AppError`s with a stable code; only the HTTP
 * edge maps them to a status (see src/api/errors.ts). The one list of codes: the
 * type, the status table below and the OpenAPI document all read it.
 */
export const ErrorCodeSchema = z
  .enum([
    'bad_request',
    'validation_failed',
    'bad_json',
    'not_found',
    'conflict',
    'read_only',
    'payload_too_large',
    'unsupported_media_type',
    'unauthorized',
    'forbidden',
    'too_many_requests',
    'insufficient_storage',
    'unavailable',
    'hardware_unavailable',
    'ffmpeg_failed',
    'cancelled',
    'internal',
  ])
  .describe('Stable, for programs; the message is for people.');
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  bad_json: 400,
  not_found: 404,
  conflict: 409,
  read_only: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  too_many_requests: 429,
  insufficient_storage: 507,
  unavailable: 503,
  hardware_unavailable: 422,
  ffmpeg_failed: 500,
  cancelled: 409,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  /** The request field at fault, as a dotted path (`ladder.0.width`), when there is one. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.field = options.field;
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

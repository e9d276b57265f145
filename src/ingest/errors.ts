import { AppError, type ErrorCode } from '../core/errors.js';

/**
 * Statuses WHIP answers that the shared ErrorCode vocabulary has no code for yet: 405,
 * 412, 422 and 428 (RFC 9725, RFC 9110). They keep the nearest shared code; SDP endpoints
 * answer text/plain, so the code never reaches a client.
 */
export type WhipStatus = 405 | 412 | 422 | 428;

const NEAREST: Record<WhipStatus, ErrorCode> = {
  405: 'bad_request',
  412: 'conflict',
  422: 'bad_request',
  428: 'bad_request',
};

export class WhipError extends AppError {
  readonly #status: WhipStatus;

  constructor(status: WhipStatus, message: string, options: { cause?: unknown } = {}) {
    super(NEAREST[status], message, options);
    this.name = 'WhipError';
    this.#status = status;
  }

  override get status(): number {
    return this.#status;
  }
}

/** 422: a valid offer or fragment that asks for what ingest does not support. */
export const unprocessable = (message: string, cause?: unknown): WhipError =>
  new WhipError(422, message, cause === undefined ? {} : { cause });

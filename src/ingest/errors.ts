import { AppError, type ErrorCode } from '../core/errors.js';

/**
 * Statuses WHIP and WHEP answer that the shared ErrorCode vocabulary has no code for
 * yet: 405, 406, 412, 422 and 428 (RFC 9725, RFC 9110). They keep the nearest shared
 * code; SDP endpoints answer text/plain, so the code never reaches a client.
 */
export type WhipStatus = 405 | 406 | 412 | 422 | 428;

const NEAREST: Record<WhipStatus, ErrorCode> = {
  405: 'bad_request',
  406: 'bad_request',
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

/**
 * 406: a WHEP viewer whose offer cannot take what is published (RFC 9110 15.5.7: the
 * server has no representation the client accepts). Not 422: the offer is fine, another
 * stream may be playable with it; not 409, which tells a player to retry.
 */
export const notAcceptable = (message: string): WhipError => new WhipError(406, message);

import { z } from 'zod';
import { PRESET_ID, STREAM_ID } from '../../core/ids.js';
import { ErrorBodySchema } from '../errors.js';
import { jsonResponse, stringHeader, textResponse, type Json } from './operation.js';
import { schemaComponents, schemaOf } from './schemas.js';

/** A JSON error response: the one error body, with what this status means here. */
export const errorResponse = (description: string): Json => jsonResponse(description, ErrorBodySchema);

const pathParameter = (name: string, schema: z.ZodType, description?: string): Json => ({
  name,
  in: 'path',
  required: true,
  ...(description === undefined ? {} : { description }),
  schema: schemaOf(schema),
});

/** `components`: schemas generated from zod, and the responses and parameters paths share. */
export function components(): Json {
  const streamId = z.string().regex(STREAM_ID);
  return {
    schemas: schemaComponents(),
    responses: {
      BadRequest: errorResponse(
        'The request is invalid (`validation_failed` names the field, `bad_json`, `bad_request`); nothing changed.',
      ),
      Unauthorized: {
        ...errorResponse('API_TOKEN is set and the request did not carry it as a Bearer token.'),
        headers: { 'WWW-Authenticate': stringHeader() },
      },
      Forbidden: errorResponse(
        '`forbidden`: API_TOKEN is unset (loopback mode) and the request was addressed to a Host that is ' +
          "neither a loopback name nor PUBLIC_URL's host (DNS rebinding), or a write came from another " +
          "site's page (Origin, Sec-Fetch-Site). Nothing changed.",
      ),
      TooManyRequests: {
        ...errorResponse(
          '`too_many_requests`: this client failed authentication AUTH_FAILURES_PER_MINUTE times this minute, ' +
            'or holds its share of a per-client limit; nothing changed, retry after Retry-After.',
        ),
        headers: { 'Retry-After': stringHeader({ required: true }) },
      },
      NotFound: errorResponse('No such resource.'),
      Conflict: errorResponse('`conflict` (the id is taken) or `read_only` (a built-in preset).'),
      PayloadTooLarge: errorResponse('The body is larger than the limit.'),
      UnsupportedMediaType: errorResponse('The body has a content type this operation does not take.'),
      Unavailable: errorResponse(
        '`unavailable`: the job queue (Redis) does not answer; nothing changed, try again.',
      ),
      Internal: errorResponse(
        'A server-side failure; the message is generic and the server log has the cause.',
      ),
      SdpError: textResponse('WHIP/WHEP errors are plain text.'),
      SdpRetry: {
        ...textResponse('Plain text; retry after Retry-After.'),
        headers: { 'Retry-After': stringHeader({ required: true }) },
      },
    },
    parameters: {
      PresetId: pathParameter('id', z.string().regex(PRESET_ID)),
      JobId: pathParameter('id', streamId),
      StreamId: pathParameter('stream', streamId, 'The stream key chosen by the publisher.'),
      SessionId: pathParameter(
        'session',
        z.string(),
        'From the Location header of the POST that created the session.',
      ),
      AssetId: pathParameter('id', streamId, 'A live stream id or a VOD asset id (one namespace).'),
      HlsName: pathParameter(
        'name',
        z.string(),
        '`index.m3u8`, a media playlist, an init segment, a segment or a part.',
      ),
    },
    securitySchemes: {
      apiToken: { type: 'http', scheme: 'bearer', description: 'API_TOKEN, when set.' },
      publishToken: { type: 'http', scheme: 'bearer', description: 'PUBLISH_TOKEN, when set.' },
    },
  };
}

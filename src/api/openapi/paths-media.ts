import { z } from 'zod';
import { STREAM_ID } from '../../core/ids.js';
import { errorResponse } from './components.js';
import {
  parameterRef,
  publishAuth,
  responseRef,
  stringHeader,
  textResponse,
  type Json,
} from './operation.js';
import { schemaOf } from './schemas.js';

/** Media in and out: WHIP, WHEP, the relay to the workers, the LL-HLS origin. */

const body = (mediaType: string) => ({ [mediaType]: { schema: schemaOf(z.string()) } });
const bytes = (mediaType: string) => ({
  [mediaType]: { schema: schemaOf(z.string().meta({ contentMediaType: mediaType })) },
});

/** WHIP (RFC 9725) and WHEP share one shape; `kind` says which. */
export function sdpPaths(kind: 'whip' | 'whep'): Json {
  const what = kind === 'whip' ? 'publish (WHIP ingest)' : 'play (WHEP)';
  const tag = kind.toUpperCase();
  // WHEP playback is open, like the HLS it sits beside.
  const security = kind === 'whip' ? { security: publishAuth } : {};
  const icePreflight = {
    tags: [tag],
    operationId: `${kind}Options`,
    summary: `CORS preflight; lists the ICE servers for ${tag} clients`,
    parameters: [parameterRef('StreamId')],
    responses: {
      '204': {
        description: 'No content.',
        headers: {
          Link: stringHeader({ description: '`<stun:...>; rel="ice-server"`, one per ICE_SERVERS entry.' }),
          'Access-Control-Allow-Methods': stringHeader(),
        },
      },
    },
  };
  return {
    [`/${kind}/{stream}`]: {
      post: {
        tags: [tag],
        operationId: `${kind}Offer`,
        summary: `Start a session to ${what}: an SDP offer in, an SDP answer out`,
        ...security,
        parameters: [
          parameterRef('StreamId'),
          ...(kind === 'whep'
            ? [
                {
                  name: 'layer',
                  in: 'query',
                  required: false,
                  description:
                    "A simulcast publisher's layer (its rid, see `ingest.video.layers`). Default: the highest being sent, followed as layers start and stop; switches happen at key frames.",
                  schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,16}$' },
                },
                {
                  name: 'mode',
                  in: 'query',
                  required: false,
                  description:
                    "`passthrough`: the publisher's own RTP (lowest delay), starting on a rung of the ladder when that has a key frame first (fast join) and switched to the publisher's RTP at its next key frame. `rung`: a rung of the transcoded ladder (H.264 + Opus), chosen for the viewer's bandwidth (REMB, loss) and switched at key frames. Default: `passthrough` on the process that holds the publisher, else `rung`; a passthrough request on another process, or from a viewer that cannot decode the published codec, gets the ladder.",
                  schema: { type: 'string', enum: ['passthrough', 'rung'] },
                },
                {
                  name: 'rendition',
                  in: 'query',
                  required: false,
                  description: 'Rung mode: the rung to stay on (`360p`), whatever the bandwidth.',
                  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' },
                },
              ]
            : []),
        ],
        requestBody: { required: true, content: body('application/sdp') },
        responses: {
          '201': {
            description: 'The SDP answer. Location is the session URL for PATCH and DELETE.',
            headers: {
              Location: stringHeader({ required: true }),
              ETag: stringHeader(),
              Link: stringHeader({ description: 'ICE servers, as for OPTIONS.' }),
            },
            content: body('application/sdp'),
          },
          ...(kind === 'whep'
            ? {
                '307': {
                  description:
                    '`mode=passthrough` asked of a process that does not hold the publisher: POST the same offer to Location, the ingest process that does (its own PUBLIC_URL).',
                  headers: { Location: stringHeader({ required: true }) },
                },
              }
            : {}),
          '400': responseRef('SdpError'),
          '401': responseRef('SdpError'),
          '404': responseRef('SdpError'),
          ...(kind === 'whep'
            ? {
                '406': textResponse(
                  "The offer has no payload type for the stream's codecs (WHEP passes them through); the body says what is published.",
                ),
              }
            : {}),
          '409': responseRef('SdpError'),
          '413': responseRef('SdpError'),
          '415': responseRef('SdpError'),
          '422': textResponse('Unsupported codecs or track counts; the body says what is supported.'),
          '403': textResponse(
            "No token guards this endpoint (loopback mode) and the Host is not this server's, or the offer came from another site's page.",
          ),
          '429': responseRef('SdpRetry'),
          '503': responseRef('SdpRetry'),
        },
      },
      options: icePreflight,
    },
    [`/${kind}/{stream}/{session}`]: {
      patch: {
        tags: [tag],
        operationId: `${kind}Patch`,
        summary: 'Trickle ICE candidates or restart ICE (RFC 8840 SDP fragment)',
        ...security,
        parameters: [parameterRef('StreamId'), parameterRef('SessionId')],
        requestBody: { required: true, content: body('application/trickle-ice-sdpfrag') },
        responses: {
          '204': { description: 'Candidates accepted.' },
          '200': {
            description: 'ICE restart: the server fragment.',
            content: body('application/trickle-ice-sdpfrag'),
          },
          '400': responseRef('SdpError'),
          '404': responseRef('SdpError'),
          '412': textResponse('If-Match does not match the session ETag.'),
          '413': responseRef('SdpError'),
          '415': responseRef('SdpError'),
          '428': textResponse('An ICE restart needs If-Match.'),
        },
      },
      options: {
        tags: [tag],
        operationId: `${kind}SessionOptions`,
        summary: 'CORS preflight of the session URL',
        parameters: [parameterRef('StreamId'), parameterRef('SessionId')],
        responses: { '204': { description: 'No content; Accept-Patch names the fragment type.' } },
      },
      delete: {
        tags: [tag],
        operationId: `${kind}Delete`,
        summary: 'End the session',
        ...security,
        parameters: [parameterRef('StreamId'), parameterRef('SessionId')],
        responses: { '200': { description: 'Ended.' }, '404': responseRef('SdpError') },
      },
    },
  };
}

/** The relay: the worker's read of a live stream (not for players). */
export function relayPaths(): Json {
  return {
    '/internal/relay/{stream}': {
      get: {
        tags: ['streams'],
        operationId: 'relayStream',
        summary: "A live stream's received media as one Matroska byte stream, for the worker running its job",
        description:
          'Starts at a key frame of the current publish session and ends with it (a takeover or the end of the stream). `Authorization: Bearer` with the per-stream token the live job carries.',
        parameters: [
          { name: 'stream', in: 'path', required: true, schema: schemaOf(z.string().regex(STREAM_ID)) },
          {
            name: 'layers',
            in: 'query',
            required: false,
            description:
              'Passthrough presets: every simulcast layer (or the one encoding) as its own video track, largest first, from an instant where every layer has a key frame; `X-Whipcast-Layers` describes the tracks.',
            schema: { type: 'string', enum: ['all'] },
          },
        ],
        responses: {
          '200': {
            description:
              'Matroska (live, unknown size); `X-Whipcast-Epoch` gives the wall clock of media time 0.',
            content: bytes('video/x-matroska'),
          },
          '400': responseRef('BadRequest'),
          '401': responseRef('Unauthorized'),
          '404': responseRef('NotFound'),
          '409': errorResponse(
            '`layers=all`: the layers cannot be passed through (key frames not aligned, not H.264, too few key frames); the message says why.',
          ),
        },
      },
    },
  };
}

/** The LL-HLS origin: playlists, init segments, segments and parts of a stream or asset. */
export function hlsPaths(): Json {
  const query = (name: string, schema: z.ZodType) => ({ name, in: 'query', schema: schemaOf(schema) });
  return {
    '/hls/{id}/{name}': {
      parameters: [parameterRef('AssetId'), parameterRef('HlsName')],
      get: {
        tags: ['hls'],
        operationId: 'hls',
        summary:
          'LL-HLS: the multivariant playlist (index.m3u8), media playlists, init segments, segments, parts',
        description:
          'Media playlists support blocking reload (`_HLS_msn`, `_HLS_part`) and delta updates (`_HLS_skip`).',
        parameters: [
          query('_HLS_msn', z.int().min(0)),
          query('_HLS_part', z.int().min(0)),
          query('_HLS_skip', z.enum(['YES', 'v2'])),
        ],
        responses: {
          '200': {
            description: 'A playlist or media.',
            content: {
              ...body('application/vnd.apple.mpegurl'),
              ...bytes('video/mp4'),
              ...bytes('video/iso.segment'),
            },
          },
          '400': responseRef('BadRequest'),
          '404': responseRef('NotFound'),
          '429': {
            ...errorResponse(
              'This client holds as many blocking requests as one client may (MAX_HELD_PER_CLIENT); others are unaffected. Retry after Retry-After.',
            ),
            headers: { 'Retry-After': stringHeader({ required: true }) },
          },
          '503': {
            ...errorResponse(
              'A blocking playlist request (or a part) was not answered in time, or too many are held; reload after Retry-After.',
            ),
            headers: { 'Retry-After': stringHeader({ required: true }) },
          },
        },
      },
    },
  };
}

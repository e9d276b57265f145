/**
 * What the console added to the HTTP surface (README "The console"): live posters, the
 * vendored chart library, and conditional GETs (weak ETag, 304) on the lists it polls.
 */

type Json = Record<string, unknown>;

function consolePaths(): Json {
  const asset = (operationId: string, summary: string, mediaType: string) => ({
    get: {
      tags: ['pages'],
      operationId,
      summary,
      responses: {
        '200': { description: 'The file.', content: { [mediaType]: { schema: { type: 'string' } } } },
      },
    },
  });
  return {
    '/hls/{id}/poster.jpg': {
      parameters: [{ $ref: '#/components/parameters/AssetId' }],
      get: {
        tags: ['hls'],
        operationId: 'poster',
        summary: "A stream's or file's poster (JPEG)",
        description:
          "Live stream: the first frame of the newest complete segment of the ladder's lowest rung, made on " +
          'demand at most every 5 s, at most 320 px on its long side; `Cache-Control: public, max-age=5`. ' +
          'File: made when the file was packaged (at most 640 px), beside `sprite.jpg` and `thumbnails.vtt` ' +
          '(a WebVTT thumbnail track of `sprite.jpg#xywh=x,y,w,h` cues, for seeking previews), served like ' +
          'its segments: `public, max-age=31536000, immutable`. Both carry an ETag (304 on If-None-Match) and CORS.',
        responses: {
          '200': {
            description: 'The picture.',
            headers: {
              'Cache-Control': { schema: { type: 'string' } },
              ETag: { schema: { type: 'string' } },
            },
            content: { 'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } } },
          },
          '304': { description: 'Not modified (If-None-Match).' },
          '404': { $ref: '#/components/responses/NotFound' },
        },
      },
    },
    '/vendor/uplot.js': asset('uplotJs', 'uPlot (charts of the console health panel)', 'text/javascript'),
    '/vendor/uplot.css': asset('uplotCss', "uPlot's style sheet", 'text/css'),
  };
}

/** GET operations whose JSON carries a weak ETag and answers 304 to If-None-Match (src/api/etag.ts). */
const CONDITIONAL = [
  '/api/presets',
  '/api/presets/{id}',
  '/api/jobs',
  '/api/jobs/{id}',
  '/api/streams',
  '/api/streams/{stream}',
  '/api/workers',
];

function op(doc: Json, path: string, method: string): Json | undefined {
  const item = (doc.paths as Record<string, Json | undefined>)[path];
  return item?.[method] as Json | undefined;
}

/** The document with the console's additions; mutates and returns `doc`. */
export function consoleOpenApi(doc: Json): Json {
  Object.assign(doc.paths as Json, consolePaths());
  for (const p of CONDITIONAL) {
    const get = op(doc, p, 'get');
    if (!get) continue;
    const responses = get.responses as Json;
    const ok = responses['200'] as Json | undefined;
    if (ok) ok.headers = { ...(ok.headers as Json | undefined), ETag: { schema: { type: 'string' } } };
    responses['304'] = { description: 'Not modified: the weak ETag in If-None-Match still matches.' };
  }
  const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
  const viewers = (schemas.Stream?.properties as Record<string, Json> | undefined)?.viewers;
  if (viewers) {
    viewers.description =
      'Viewers now by protocol: WHEP sessions, and LL-HLS clients (distinct address and User-Agent that ' +
      'loaded a playlist of the stream in the last 10 s; behind a CDN, its nodes).';
    (viewers.properties as Json).hls = { type: 'integer', minimum: 0 };
  }
  return doc;
}

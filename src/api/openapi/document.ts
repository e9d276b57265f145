import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { components } from './components.js';
import { responseRef, type Json } from './operation.js';
import { apiPaths } from './paths-api.js';
import { hlsPaths, relayPaths, sdpPaths } from './paths-media.js';
import { operationsPaths } from './paths-operations.js';
import { pagesPaths } from './paths-pages.js';
import { consoleOpenApi } from './console.js';

/**
 * The OpenAPI 3.1 description of the whole public HTTP surface (CONTRACT.md), served
 * at GET /api/openapi.json. Paths are declared in code; every schema in them is
 * generated from the zod schemas the code's own types are inferred from (schemas.ts).
 * test/integration/openapi.test.ts holds the paths to the routes the app registers,
 * both ways; openapi-responses.test.ts holds real responses to the schemas.
 */

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * What the edge answers on every /api operation before the route runs: 403 in loopback
 * mode (src/api/site-guard.ts), and on writes 429 once a client failed authentication too
 * often (src/api/auth-failures.ts).
 */
function withEdgeResponses(paths: Json): Json {
  for (const [p, item] of Object.entries(paths)) {
    if (!p.startsWith('/api/')) continue;
    for (const [method, op] of Object.entries(item as Record<string, { responses?: Json }>)) {
      if (method === 'parameters' || !op.responses) continue;
      op.responses['403'] = responseRef('Forbidden');
      if (method !== 'get') op.responses['429'] = responseRef('TooManyRequests');
    }
  }
  return paths;
}

let cached: Json | undefined;

/** The document; built once (zod's JSON Schema conversion is not free) and shared. */
export function openApiDocument(): Json {
  cached ??= consoleOpenApi({
    openapi: '3.1.0',
    info: {
      title: 'whipcast',
      version: version(),
      summary: 'WHIP in, an FFmpeg ladder on BullMQ workers, LL-HLS and WHEP out',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'presets', description: 'Ladders, codecs, encoder settings and HLS timing' },
      { name: 'jobs', description: 'Transcode jobs (VOD files; live streams have one each)' },
      { name: 'streams', description: 'Live streams' },
      { name: 'WHIP', description: 'WebRTC ingest (RFC 9725)' },
      { name: 'WHEP', description: 'WebRTC playback' },
      { name: 'hls', description: 'The LL-HLS origin' },
      { name: 'operations', description: 'Health, readiness, metrics, capabilities, workers' },
      { name: 'pages', description: 'The browser pages' },
    ],
    paths: withEdgeResponses({
      ...pagesPaths(),
      ...operationsPaths(),
      ...apiPaths(),
      ...hlsPaths(),
      ...sdpPaths('whip'),
      ...sdpPaths('whep'),
      ...relayPaths(),
    }),
    components: components(),
  });
  return cached;
}

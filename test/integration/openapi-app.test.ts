import { describe, expect, it } from '@jest/globals';
import { createApp, type ApiDeps } from '../../src/api/app.js';
import { openApiDocument } from '../../src/api/openapi/document.js';
import { checkRoutesAgainstOpenApi, listExpressRoutes } from '../helpers/openapi-check.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/log.js';

/** The document at GET /api/openapi.json describes exactly the routes the app serves. */
describe('the OpenAPI document and the app', () => {
  it('list the same operations, both ways', () => {
    // Listing routes calls none of the roles, so they need not exist here.
    const deps = {
      config: loadConfig({}),
      log: createLogger('silent'),
      presets: {},
      jobs: {},
      streams: {},
      live: { whip: {}, relay: {}, whep: {} },
      liveOrigin: {},
      storage: {},
      capabilities: () => ({}),
    } as unknown as ApiDeps;
    const app = createApp(deps);
    expect(checkRoutesAgainstOpenApi(listExpressRoutes(app), openApiDocument())).toEqual([]);
  });
});

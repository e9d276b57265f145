import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import express, { type Express } from 'express';
import type { Capabilities } from '../core/capabilities.js';
import type { Config } from '../core/config.js';
import type { JobsApi, WorkersApi } from '../workers/index.js';
import type { Logger } from '../core/log.js';
import { packageRoot } from '../core/paths.js';
import type { PresetStore } from '../core/presets/types.js';
import type { WhepPlayback, WhipIngest } from '../ingest/index.js';
import type { RelayApi, StreamsApi } from '../live/index.js';
import { relayRouter } from './routes/relay.js';
import { whipRouter } from './routes/whip.js';
import { whepRouter } from './routes/whep.js';
import { storageStats, type LiveEvent, type Storage } from '../packager/index.js';
import {
  createOriginHttp,
  HLS_ROUTE_LABEL,
  HlsViewers,
  LIVE_POSTER_ROUTE,
  livePosterRoute,
  type LiveOriginApi,
  type PostersApi,
} from '../origin/index.js';
import { clientGuards, requireToken } from './auth.js';
import { errorHandler, GENERIC_500, notFoundHandler, type ErrorBody } from './errors.js';
import { ApiMetrics } from './metrics.js';
import { openApiDocument } from './openapi/document.js';
import { siteGuard } from './site-guard.js';
import { uploadDirOf } from './uploads.js';
import { healthRouter } from './routes/health.js';
import { jobsRouter } from './routes/jobs.js';
import { presetsRouter } from './routes/presets.js';
import { streamsRouter } from './routes/streams.js';
import { vodRouter } from './routes/vod.js';
import { workersRouter } from './routes/workers.js';
import { consoleAssetsRouter } from './routes/console-assets.js';
import { weakEtagJson } from './etag.js';

export interface ApiDeps {
  config: Config;
  log: Logger;
  presets: PresetStore;
  jobs: JobsApi;
  streams: StreamsApi;
  /** The ingest role: WHIP and the relay workers read from. Absent: no publishing here. */
  live?: { whip: WhipIngest; relay: RelayApi; whep: WhepPlayback } | null;
  /** WHEP on a process without ingest: rung mode from this process's origin. */
  whep?: WhepPlayback | null;
  /** This process's public URL (PUBLIC_URL, or where it listens): WHEP never redirects to it. */
  ownUrl?: () => string;
  /** Live playlists from memory (blocking reload, delta updates); absent: storage only. */
  liveOrigin?: LiveOriginApi | null;
  storage: Storage;
  /** Subscribes to the live bus (parts published), for /metrics. */
  liveEvents?: (listener: (e: LiveEvent) => void) => void;
  capabilities: () => Capabilities;
  /** The worker registry (GET /api/workers); absent: the list is empty. */
  workers?: WorkersApi | null;
  /** True once the process is shutting down: /readyz answers 503. */
  draining?: () => boolean;
  /** Live posters made on demand (GET /hls/{id}/poster.jpg); absent: files' stored posters only. */
  posters?: PostersApi | null;
  /** What the process knows of its queue Redis beyond a PING (for /readyz, /healthz, /metrics). */
  redis?: RedisHealth | null;
}

export interface RedisHealth {
  /** Why the queue Redis does not answer now; null when it does. */
  down(): string | null;
  /** Why the process cannot get its Redis back by itself; null when it can. */
  lost(): string | null;
  /** Times the private redis-server was restarted after dying. */
  restarts(): number;
}

/** The HTTP edge: parse, call a role through its interface, answer. */
export function createApp(deps: ApiDeps): Express {
  return buildApp(deps).app;
}

/**
 * What the service's HTTP server runs: the app, behind the origin's fast lane
 * (src/origin/fast-lane.ts) when there is a live origin. The lane's requests count in /metrics under
 * the same route as express's; a failure after it took a request is logged and answered
 * as the error handler would.
 */
export function createRequestListener(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { app, lane, hlsViewers } = buildApp(deps);
  return (req, res) => {
    // Every playlist request counts its client as an LL-HLS viewer, the fast lane's too.
    hlsViewers.observe(req);
    if (!lane?.(req, res)) app(req, res);
  };
}

function buildApp(deps: ApiDeps): {
  app: Express;
  lane: ((req: IncomingMessage, res: ServerResponse) => boolean) | null;
  hlsViewers: HlsViewers;
} {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const metrics = new ApiMetrics(
    deps.jobs,
    () => deps.streams.list(),
    () => storageStats(deps.storage),
    () => deps.redis?.restarts() ?? 0,
  );
  deps.liveEvents?.((e) => metrics.live.observe(e));
  app.use(metrics.middleware());
  const hlsViewers = new HlsViewers();
  // A live stream's poster is made on demand; a file's is stored, and served by the /hls router.
  app.get(
    LIVE_POSTER_ROUTE,
    livePosterRoute({
      posters: deps.posters ?? null,
      isLive: (id) => (deps.liveOrigin?.isLive(id) ?? false) || deps.streams.get(id)?.state === 'live',
    }),
  );
  const guards = clientGuards({ ...config, log: deps.log });
  // First after metrics: the origin's traffic (thousands of held playlist requests, parts)
  // is most of all requests, and every router mounted before it costs each one a hop.
  const origin = createOriginHttp({
    storage: deps.storage,
    origin: deps.liveOrigin ?? null,
    clientOf: guards.clientOf,
    taken: metrics.countAs(HLS_ROUTE_LABEL),
    onError: (err, req, res) => {
      deps.log.error({ err, method: req.method, path: (req.url ?? '').split('?')[0] }, 'request failed');
      if (res.headersSent) return void res.destroy();
      const body = JSON.stringify({ error: { code: 'internal', message: GENERIC_500 } } satisfies ErrorBody);
      res.writeHead(500, {
        'Cache-Control': 'no-store',
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(body);
    },
  });
  app.use('/hls', origin.router);

  const requireApiToken = requireToken(config.apiToken, 'whipcast-api', guards);
  const root = packageRoot();
  // Routes no token protects take browsers' requests from this server's own pages only
  // (src/api/site-guard.ts). WHEP playback stays open to every site once the deployment
  // sets both PUBLISH_TOKEN and API_TOKEN (loopback mode is over), as the README documents.
  const loopbackMode = !(config.apiToken && config.publishToken);
  const sameSite = (token: string) =>
    siteGuard({ token, publicUrl: config.publicUrlSet ? config.publicUrl : null });
  const guarded = {
    api: config.apiToken === undefined ? [sameSite('API_TOKEN')] : [],
    whip: config.publishToken === undefined ? [sameSite('PUBLISH_TOKEN')] : [],
    whep: config.viewToken === undefined && loopbackMode ? [sameSite('VIEW_TOKEN')] : [],
  };
  if (guarded.api.length > 0) app.use('/api', ...guarded.api);

  app.use(
    healthRouter({
      capabilities: deps.capabilities,
      redisDown: async () => ((await deps.jobs.ping()) ? null : (deps.redis?.down() ?? 'no answer to PING')),
      lost: () => deps.redis?.lost() ?? null,
      draining: deps.draining ?? (() => false),
    }),
  );
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.get('/api/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.get('/api/capabilities', (_req, res) => {
    res.json(deps.capabilities());
  });
  // What the console polls answers 304 while unchanged.
  app.use(['/api/presets', '/api/jobs', '/api/streams', '/api/workers'], weakEtagJson());
  app.use('/api/presets', presetsRouter({ presets: deps.presets, requireApiToken }));
  app.use('/api/jobs', jobsRouter({ jobs: deps.jobs, requireApiToken }));
  app.use(
    '/api/vod',
    vodRouter({
      jobs: deps.jobs,
      requireApiToken,
      mediaDir: config.mediaDir,
      uploadDir: uploadDirOf(config.dataDir),
      maxUploadBytes: config.maxUploadBytes,
      minFreeBytes: config.minFreeDiskBytes,
    }),
  );
  app.use('/api/streams', streamsRouter({ streams: hlsViewers.streams(deps.streams) }));
  app.use('/api/workers', workersRouter({ workers: deps.workers ?? null }));
  app.use('/api', notFoundHandler);

  if (deps.live) {
    app.use(
      '/whip',
      ...guarded.whip,
      whipRouter({
        ingest: deps.live.whip,
        publishToken: config.publishToken,
        iceServers: config.iceServers,
        guards,
      }),
    );
    app.use('/internal/relay', relayRouter({ relay: deps.live.relay }));
  }
  const whep = deps.live?.whep ?? deps.whep ?? null;
  if (whep) {
    app.use(
      '/whep',
      ...guarded.whep,
      whepRouter({
        whep,
        viewToken: config.viewToken,
        iceServers: config.iceServers,
        guards,
        ...(deps.jobs.liveIngestOrigin ? { ingestOf: (id: string) => deps.jobs.liveIngestOrigin!(id) } : {}),
        ownOrigin: () => new URL(deps.ownUrl?.() ?? config.publicUrl).origin,
      }),
    );
  }

  // The pages: plain HTML, compiled TypeScript, and hls.js straight from node_modules.
  const staticOpts = { index: false, fallthrough: true, maxAge: 0 } as const;
  app.get('/', (_req, res) => res.sendFile(path.join(root, 'player', 'index.html')));
  app.get('/publish', (_req, res) => res.sendFile(path.join(root, 'player', 'publish.html')));
  app.use('/player', express.static(path.join(root, 'dist', 'player'), staticOpts));
  app.get('/player/style.css', (_req, res) => res.sendFile(path.join(root, 'player', 'style.css')));
  app.get('/vendor/hls.mjs', (_req, res) =>
    res.sendFile(path.join(root, 'node_modules', 'hls.js', 'dist', 'hls.mjs')),
  );
  app.use(consoleAssetsRouter(root));

  app.use(notFoundHandler);
  app.use(errorHandler(deps.log));
  return { app, lane: origin.lane, hlsViewers };
}

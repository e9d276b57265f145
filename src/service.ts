import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createRequestListener } from './api/app.js';
import type { Capabilities } from './core/capabilities.js';
import type { Config } from './core/config.js';
import { errorMessage } from './core/errors.js';
import type { Logger } from './core/log.js';
import { packageRoot } from './core/paths.js';
import { FilePresetStore } from './core/presets/store.js';
import { apiRedis, closeRedis, whenReady } from './core/redis.js';
import { PrivateRedis } from './core/redis-server.js';
import { randomBytes } from 'node:crypto';
import { AppError } from './core/errors.js';
import { NO_INGEST, type StreamsApi, type StreamView } from './core/streams.js';
import { IngestRegistry } from './ingest/registry.js';
import type { WhipIngest } from './api/routes/whip.js';
import { MediaRelay } from './ingest/relay.js';
import { WhepRegistry } from './ingest/whep/registry.js';
import { LiveOrigin } from './api/live-origin.js';
import { RedisLiveBus } from './packager/live-bus.js';
import { createLivePackagerFactory } from './packager/live-packager.js';
import type { PresetStore } from './core/presets/types.js';
import { rungName } from './core/preset.js';
import { createStorage } from './packager/storage/create.js';
import type { Storage } from './packager/storage/storage.js';
import { probeCapabilities } from './workers/ffmpeg/probe.js';
import { JobsClient } from './workers/jobs-client.js';
import { WorkerDirectory } from './workers/worker-registry.js';
import { WorkerRole } from './workers/worker-role.js';
import { LivePosters } from './api/posters.js';
import { makeStreamPoster } from './workers/thumbnails.js';

export const DEFAULT_PRESET_ID = 'default';

/** How long a draining API process keeps answering (503 to new publishes) before it closes. */
const DRAIN_MS = 2000;

/**
 * The composition root: starts the roles this process runs (config.roles) and owns
 * everything they start. close() is idempotent and runs every cleanup even if one fails.
 */
export class Service {
  readonly config: Config;
  readonly log: Logger;
  capabilities!: Capabilities;
  jobs: JobsClient | null = null;
  worker: WorkerRole | null = null;
  /** The worker registry's reader (GET /api/workers); API role only. */
  workers: WorkerDirectory | null = null;
  storage!: Storage;
  ingest: IngestRegistry | null = null;
  relay: MediaRelay | null = null;
  whep: WhepRegistry | null = null;
  liveOrigin: LiveOrigin | null = null;
  /** Live posters, made on demand by this API process from the lowest rung in storage. */
  posters: LivePosters | null = null;
  #bus: RedisLiveBus | null = null;
  #presets: PresetStore | null = null;
  /** One relay token per stream for this process's life: a takeover keeps the running job's token valid. */
  readonly #relayTokens = new Map<string, string>();
  #redis: PrivateRedis | null = null;
  #apiConnection: Redis | null = null;
  #server: Server | null = null;
  #closing: Promise<void> | null = null;
  #shutdown: Promise<void> | null = null;
  /** SIGTERM seen: new publishes get 503 with Retry-After, /readyz answers 503. */
  #draining = false;
  /** Where the API listens, once started (tests use port 0). */
  url = '';
  #publicUrl = '';

  private constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log;
  }

  static async start(config: Config, log: Logger): Promise<Service> {
    const s = new Service(config, log);
    try {
      await s.#start();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  async #start(): Promise<void> {
    const { config, log } = this;
    let redisUrl = config.redisUrl;
    if (!redisUrl) {
      this.#redis = await PrivateRedis.start();
      redisUrl = this.#redis.url;
      log.info(
        { url: redisUrl, redisPid: this.#redis.pid },
        'started a private redis-server (REDIS_URL unset)',
      );
    }
    this.capabilities = await probeCapabilities(config.ffmpegPath, config.hwaccel, log);
    log.info(
      { ffmpeg: this.capabilities.ffmpegVersion, families: this.capabilities.families },
      'ffmpeg capabilities probed',
    );
    this.storage = createStorage(config, log);
    // Parts are announced over Redis pub/sub, so the origin may be another process than the packager.
    this.#bus = new RedisLiveBus({ url: redisUrl, prefix: config.queuePrefix, log });

    if (config.roles.has('worker')) {
      if (this.capabilities.ffmpegVersion === null) {
        throw new Error(
          `ffmpeg is not runnable at "${config.ffmpegPath}": install it (Debian/Ubuntu: apt-get install ffmpeg) or set FFMPEG_PATH`,
        );
      }
      this.worker = new WorkerRole({
        redisUrl,
        prefix: config.queuePrefix,
        ffmpegPath: config.ffmpegPath,
        hwaccel: config.hwaccel,
        capabilities: this.capabilities,
        storage: this.storage,
        concurrency: config.workerConcurrency,
        log,
        livePackagers: createLivePackagerFactory({ storage: this.storage, bus: this.#bus }),
      });
    }

    if (config.roles.has('api')) {
      const presets = new FilePresetStore({
        builtInDir: path.join(packageRoot(), 'presets'),
        dataDir: config.dataDir,
        log,
      });
      await presets.load?.();
      this.#presets = presets;
      this.#apiConnection = apiRedis(redisUrl, `whipcast-api-${process.pid}`);
      this.#apiConnection.on('error', () => undefined);
      if (!(await whenReady(this.#apiConnection, 5000))) {
        log.warn('Redis is not reachable yet: /readyz answers 503 and enqueues 503 until it is');
      }
      this.workers = new WorkerDirectory({ connection: this.#apiConnection, prefix: config.queuePrefix });
      this.jobs = new JobsClient({
        connection: this.#apiConnection,
        prefix: config.queuePrefix,
        publicUrl: config.publicUrl,
        defaultPresetId: DEFAULT_PRESET_ID,
        resolvePreset: async (id) => (await presets.get(id)).preset,
        workers: this.workers,
      });
      if (config.roles.has('ingest')) {
        // Where WebRTC peers (publishers and viewers) bind and what they announce.
        const network = {
          ...(config.icePortRange ? { portRange: config.icePortRange } : {}),
          publicAddresses: config.icePublicAddresses,
        };
        this.ingest = new IngestRegistry({
          log,
          network,
          iceServers: config.iceServers,
          takeover: config.takeover,
          mediaTimeoutMs: config.mediaTimeoutMs,
          onStreamLive: (streamId, presetId) => void this.#goLive(streamId, presetId),
        });
        this.relay = new MediaRelay({ sources: this.ingest, log });
        this.whep = new WhepRegistry({
          publishers: this.ingest,
          log,
          network,
          iceServers: config.iceServers,
          maxViewersPerStream: config.maxViewersPerStream,
        });
      }
      this.liveOrigin = new LiveOrigin({ bus: this.#bus, log });
      const storage = this.storage;
      this.posters = new LivePosters({
        make: (streamId, signal) =>
          makeStreamPoster({ storage, ffmpegPath: config.ffmpegPath, streamId, signal, log }),
        log,
      });
      const handler = createRequestListener({
        config,
        log,
        presets,
        jobs: this.jobs,
        ingest: this.ingest ? this.#streamsWithJobs(this.ingest) : NO_INGEST,
        live:
          this.ingest && this.relay && this.whep
            ? { whip: this.#checkedWhip(this.ingest), relay: this.relay, whep: this.whep }
            : null,
        liveOrigin: this.liveOrigin,
        liveEvents: (listener) => {
          this.#bus?.subscribe(listener);
        },
        storage: this.storage,
        capabilities: () => this.capabilities,
        workers: this.workers,
        draining: () => this.#draining,
        posters: this.posters,
      });
      await new Promise<void>((resolve, reject) => {
        const server = createServer(handler).listen(config.port, config.host, () => resolve());
        server.once('error', reject);
        this.#server = server;
      });
      const addr = this.#server?.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      this.url = `http://${host}:${port}`;
      // PORT=0 (tests): the relay URL workers use must name the port actually bound.
      if (!process.env.PUBLIC_URL && config.port === 0) this.#publicUrl = this.url;
      log.info({ url: this.url }, 'listening');
    }
  }

  /** A publish went live: queue its transcode (job id = stream id) with the preset it asked for. */
  async #goLive(streamId: string, presetId: string | undefined): Promise<void> {
    const log = this.log.child({ streamId });
    try {
      if (!this.jobs || !this.#presets || !this.relay) return;
      const id = presetId ?? DEFAULT_PRESET_ID;
      const { preset } = await this.#presets.get(id);
      let token = this.#relayTokens.get(streamId);
      if (!token) {
        token = randomBytes(24).toString('base64url');
        this.#relayTokens.set(streamId, token);
      }
      this.relay.authorize(streamId, token);
      const base = this.#publicUrl || this.config.publicUrl;
      await this.jobs.enqueueLive({
        kind: 'live',
        streamId,
        presetId: id,
        preset,
        relay: { url: `${base}/internal/relay/${streamId}`, token },
        submittedAt: new Date().toISOString(),
      });
      log.info({ presetId: id }, 'live transcode queued');
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'could not queue the live transcode');
    }
  }

  /** WHIP with the preset checked first, so an unknown ?preset= changes nothing. */
  #checkedWhip(ingest: IngestRegistry): WhipIngest {
    const presets = this.#presets;
    return {
      publish: async (req) => {
        if (this.#draining) {
          throw new AppError(
            'unavailable',
            'this instance is shutting down: publish again (to another instance)',
          );
        }
        if (req.presetId && presets) {
          try {
            await presets.get(req.presetId);
          } catch {
            throw new AppError('validation_failed', `unknown preset ${req.presetId}`, { field: 'preset' });
          }
        }
        return ingest.publish(req);
      },
      session: (streamId, sessionId) => ingest.session(streamId, sessionId),
      end: (streamId, sessionId) => ingest.end(streamId, sessionId),
    };
  }

  /** Stream views with their ladder and live job state (ingest knows nothing of jobs). */
  #streamsWithJobs(ingest: IngestRegistry): StreamsApi {
    const withJob = async (view: StreamView): Promise<StreamView> => {
      const v: StreamView = this.whep
        ? {
            ...view,
            viewers: {
              whep: this.whep.viewers(view.id),
              whepViewers: this.whep.stats(view.id)?.sessions ?? [],
            },
          }
        : view;
      if (!this.jobs) return v;
      try {
        const job = await this.jobs.get(v.id);
        if (job.queue !== 'live') return v;
        const preset = this.#presets ? (await this.#presets.get(job.presetId)).preset : null;
        return {
          ...v,
          job: { id: job.id, state: job.state },
          ...(preset
            ? {
                ladder: preset.ladder.map((r) => ({
                  name: rungName(r),
                  width: r.width,
                  height: r.height,
                  bitrateKbps: r.videoBitrateKbps,
                })),
              }
            : {}),
        };
      } catch {
        return v;
      }
    };
    return { list: () => ingest.list(), get: (id) => ingest.get(id), withJob };
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * The graceful stop (SIGTERM): refuse new publishes (503 + Retry-After) and report not
   * ready, hand running jobs back to the queue after their ffmpeg flushed, keep answering
   * for at least DRAIN_MS so clients and load balancers see the 503 rather than a refused
   * connection, then close everything.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#draining = true;
      const started = Date.now();
      this.log.info('draining: new publishes get 503, running work goes back to the queue');
      try {
        await this.worker?.close();
      } catch (e) {
        this.log.warn({ err: errorMessage(e) }, 'closing worker failed');
      }
      if (this.#server) {
        const left = DRAIN_MS - (Date.now() - started);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
      }
      await this.close();
    })();
    return this.#shutdown;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['whep', async () => this.whep?.close()],
        ['ingest', async () => this.ingest?.close()],
        ['relay', async () => this.relay?.close()],
        ['http', () => this.#closeServer()],
        ['live origin', async () => this.liveOrigin?.close()],
        ['posters', async () => this.posters?.close()],
        ['worker', async () => this.worker?.close()],
        ['jobs', async () => this.jobs?.close()],
        ['redis connection', async () => this.#apiConnection && closeRedis(this.#apiConnection)],
        ['live bus', async () => this.#bus?.close()],
        ['storage', async () => this.storage?.close()],
        ['private redis', async () => this.#redis?.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (e) {
          this.log.warn({ err: errorMessage(e) }, `closing ${name} failed`);
        }
      }
    })();
    return this.#closing;
  }

  #closeServer(): Promise<void> {
    const server = this.#server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      // Held-open keep-alive connections would otherwise delay exit.
      server.closeAllConnections();
    });
  }
}

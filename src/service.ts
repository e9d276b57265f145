import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createRequestListener, UploadSweeper, uploadDirOf } from './api/index.js';
import type { Capabilities } from './core/capabilities.js';
import type { Config } from './core/config.js';
import { errorMessage } from './core/errors.js';
import type { Logger } from './core/log.js';
import { packageRoot } from './core/paths.js';
import { FilePresetStore } from './core/presets/store.js';
import { apiRedis, closeRedis, whenReady } from './core/redis.js';
import { PrivateRedis } from './core/redis-server.js';
import { RedisWatch } from './core/redis-watch.js';
import { IngestRegistry, RungFeeds, WhepRegistry } from './ingest/index.js';
import { GoingLive, LiveStreams, MediaRelay, NO_STREAMS, StreamViews } from './live/index.js';
import { LiveOrigin, LivePosters } from './origin/index.js';
import {
  createLivePackagerFactory,
  joinLiveBuses,
  LocalLiveBus,
  RedisLiveBus,
  type LiveBus,
  createStorage,
  type Storage,
} from './packager/index.js';
import { rungName } from './core/preset.js';
import {
  JobsClient,
  makeStreamPoster,
  probeCapabilities,
  WorkerDirectory,
  WorkerRole,
} from './workers/index.js';

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
  /** The live streams of this process (ingest role). */
  streams: LiveStreams | null = null;
  relay: MediaRelay | null = null;
  #goingLive: GoingLive | null = null;
  whep: WhepRegistry | null = null;
  #rungFeeds: RungFeeds | null = null;
  liveOrigin: LiveOrigin | null = null;
  /** Live posters, made on demand by this API process from the lowest rung in storage. */
  posters: LivePosters | null = null;
  #bus: LiveBus | null = null;
  #redis: PrivateRedis | null = null;
  #apiConnection: Redis | null = null;
  #redisWatch: RedisWatch | null = null;
  #server: Server | null = null;
  #uploads: UploadSweeper | null = null;
  #closing: Promise<void> | null = null;
  #shutdown: Promise<void> | null = null;
  /** SIGTERM seen: new publishes get 503 with Retry-After, /readyz answers 503. */
  #draining = false;
  /** Where the API listens, once started (tests use port 0). */
  url = '';

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
      this.#redis = await PrivateRedis.start({ log: log.child({ component: 'redis' }) });
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
    // Parts are announced in-process to this process's origin, and over Redis pub/sub to
    // origins in other processes.
    this.#bus = joinLiveBuses(
      new LocalLiveBus({ log }),
      new RedisLiveBus({ url: redisUrl, prefix: config.queuePrefix, log }),
    );

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
        ...(config.liveCapacity === 'auto' ? {} : { liveConcurrency: config.liveCapacity }),
        log,
        livePackagers: createLivePackagerFactory({ storage: this.storage, bus: this.#bus }),
      });
    }

    if (config.roles.has('api')) {
      const presets = new FilePresetStore({
        builtInDir: path.join(packageRoot(), 'presets'),
        dataDir: config.dataDir,
        log,
        maxUserPresets: config.maxUserPresets,
        maxCost: config.maxPresetCost,
      });
      await presets.load?.();
      this.#apiConnection = apiRedis(redisUrl, `whipcast-api-${process.pid}`);
      this.#apiConnection.on('error', () => undefined);
      const redisWatch = new RedisWatch({ redis: this.#apiConnection, name: 'queue', log });
      this.#redisWatch = redisWatch;
      if (!(await whenReady(this.#apiConnection, 5000))) {
        log.warn('Redis is not reachable yet: /readyz answers 503 and enqueues 503 until it is');
      }
      this.workers = new WorkerDirectory({ connection: this.#apiConnection, prefix: config.queuePrefix });
      this.jobs = new JobsClient({
        connection: this.#apiConnection,
        prefix: config.queuePrefix,
        publicUrl: () => this.publicUrl,
        defaultPresetId: DEFAULT_PRESET_ID,
        resolvePreset: async (id) => (await presets.get(id)).preset,
        workers: this.workers,
      });
      const jobs = this.jobs;
      this.#uploads = new UploadSweeper({
        dir: uploadDirOf(config.dataDir),
        inUse: () => jobs.uploadsInUse(),
        log,
      });
      await this.#uploads.first;
      this.liveOrigin = new LiveOrigin({ bus: this.#bus, log, maxHeldPerClient: config.maxHeldPerClient });
      const liveOrigin = this.liveOrigin;
      const bus = this.#bus;
      // WHEP's rung mode: the ladder from the parts this process's origin receives.
      this.#rungFeeds = new RungFeeds({
        subscribe: (l) => bus.subscribe(l),
        storage: this.storage,
        isLive: (id) => liveOrigin.isLive(id),
        log,
      });
      const streams = config.roles.has('ingest') ? new LiveStreams({ takeover: config.takeover, log }) : null;
      // Where WebRTC peers (publishers and viewers) bind and what they announce.
      const network = {
        ...(config.icePortRange ? { portRange: config.icePortRange } : {}),
        publicAddresses: config.icePublicAddresses,
      };
      this.whep = new WhepRegistry({
        streams,
        rungs: this.#rungFeeds,
        log,
        network,
        iceServers: config.iceServers,
        maxViewersPerStream: config.maxViewersPerStream,
        maxViewersPerClient: config.maxViewersPerClient,
      });
      if (streams) {
        this.streams = streams;
        this.ingest = new IngestRegistry({
          log,
          streams,
          network,
          iceServers: config.iceServers,
          mediaTimeoutMs: config.mediaTimeoutMs,
          maxSessionsPerClient: config.maxPublishesPerClient,
          draining: () => this.#draining,
          // The watch PINGs once a second; a freeze newer than that is caught by asking now.
          canQueue: async () =>
            redisWatch.down ?? ((await jobs.ping()) ? null : 'no answer to PING within 1 s'),
          presetExists: async (id) => (await presets.get(id).catch(() => null)) !== null,
        });
        this.relay = new MediaRelay({ streams, log });
        this.#goingLive = new GoingLive({
          streams,
          relay: this.relay,
          jobs: this.jobs,
          presets,
          defaultPresetId: DEFAULT_PRESET_ID,
          baseUrl: () => this.publicUrl,
          log,
        });
      }
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
        streams: streams
          ? new StreamViews({
              streams,
              whep: this.whep,
              jobs: this.jobs,
              presets,
              rungName,
            })
          : NO_STREAMS,
        live:
          this.ingest && this.relay && this.whep
            ? { whip: this.ingest, relay: this.relay, whep: this.whep }
            : null,
        whep: this.whep,
        ownUrl: () => this.publicUrl,
        liveOrigin: this.liveOrigin,
        liveEvents: (listener) => {
          this.#bus?.subscribe(listener);
        },
        storage: this.storage,
        capabilities: () => this.capabilities,
        workers: this.workers,
        draining: () => this.#draining,
        posters: this.posters,
        redis: {
          down: () => redisWatch.down,
          lost: () => this.#redis?.lost ?? null,
          restarts: () => this.#redis?.restarts ?? 0,
        },
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
      log.info({ url: this.url }, 'listening');
    }
  }

  /**
   * Where workers and clients reach this process: PUBLIC_URL, else the address it listens
   * on (with PORT=0 in tests, the port actually bound).
   */
  get publicUrl(): string {
    return this.config.publicUrlSet || !this.url ? this.config.publicUrl : this.url;
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
        ['upload sweeps', async () => this.#uploads?.close()],
        ['going live', async () => this.#goingLive?.close()],
        ['whep', async () => this.whep?.close()],
        ['rung feeds', async () => this.#rungFeeds?.close()],
        ['ingest', async () => this.ingest?.close()],
        ['relay', async () => this.relay?.close()],
        // The streams ingest just ended withdraw their unstarted jobs over the queue's connection.
        ['live job withdrawals', async () => this.#goingLive?.settled()],
        ['http', () => this.#closeServer()],
        ['live origin', async () => this.liveOrigin?.close()],
        ['posters', async () => this.posters?.close()],
        ['worker', async () => this.worker?.close()],
        ['jobs', async () => this.jobs?.close()],
        ['redis watch', async () => this.#redisWatch?.close()],
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

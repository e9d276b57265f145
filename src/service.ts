import type { Server } from 'node:http';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createApp } from './api/app.js';
import type { Capabilities } from './core/capabilities.js';
import type { Config } from './core/config.js';
import { errorMessage } from './core/errors.js';
import type { Logger } from './core/log.js';
import { packageRoot } from './core/paths.js';
import { FilePresetStore } from './core/presets/store.js';
import { apiRedis, closeRedis, whenReady } from './core/redis.js';
import { PrivateRedis } from './core/redis-server.js';
import { NO_INGEST } from './core/streams.js';
import { LocalStorage } from './packager/storage/local.js';
import type { Storage } from './packager/storage/storage.js';
import { probeCapabilities } from './workers/ffmpeg/probe.js';
import { JobsClient } from './workers/jobs-client.js';
import { WorkerRole } from './workers/worker-role.js';

export const DEFAULT_PRESET_ID = 'default';

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
  storage!: Storage;
  #redis: PrivateRedis | null = null;
  #apiConnection: Redis | null = null;
  #server: Server | null = null;
  #closing: Promise<void> | null = null;
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
    this.storage = new LocalStorage(path.join(config.dataDir, 'hls'));

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
      });
    }

    if (config.roles.has('api')) {
      const presets = new FilePresetStore({
        builtInDir: path.join(packageRoot(), 'presets'),
        dataDir: config.dataDir,
        log,
      });
      await presets.load?.();
      this.#apiConnection = apiRedis(redisUrl, `whipcast-api-${process.pid}`);
      this.#apiConnection.on('error', () => undefined);
      if (!(await whenReady(this.#apiConnection, 5000))) {
        log.warn('Redis is not reachable yet: /readyz answers 503 and enqueues 503 until it is');
      }
      this.jobs = new JobsClient({
        connection: this.#apiConnection,
        prefix: config.queuePrefix,
        publicUrl: config.publicUrl,
        defaultPresetId: DEFAULT_PRESET_ID,
        resolvePreset: async (id) => (await presets.get(id)).preset,
      });
      const app = createApp({
        config,
        log,
        presets,
        jobs: this.jobs,
        ingest: NO_INGEST,
        storage: this.storage,
        capabilities: () => this.capabilities,
      });
      await new Promise<void>((resolve, reject) => {
        const server = app.listen(config.port, config.host, () => resolve());
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

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const steps: Array<[string, () => Promise<unknown>]> = [
        ['http', () => this.#closeServer()],
        ['worker', async () => this.worker?.close()],
        ['jobs', async () => this.jobs?.close()],
        ['redis connection', async () => this.#apiConnection && closeRedis(this.#apiConnection)],
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

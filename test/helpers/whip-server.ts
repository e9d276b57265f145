import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { errorHandler, notFoundHandler } from '../../src/api/errors.js';
import { whipRouter } from '../../src/api/routes/whip.js';
import { createLogger } from '../../src/core/log.js';
import { IngestRegistry, type IngestRegistryOptions } from '../../src/ingest/registry.js';

export interface WhipTestServerOptions extends Partial<Omit<IngestRegistryOptions, 'log'>> {
  publishToken?: string;
  /** ICE_SERVERS for the router's Link headers only (the registry gathers without them). */
  linkIceServers?: string[];
}

/** An IngestRegistry behind the WHIP router in a tiny express app on 127.0.0.1 (as the real app mounts it). */
export class WhipTestServer {
  readonly registry: IngestRegistry;
  readonly url: string;
  readonly #server: Server;
  #closing: Promise<void> | null = null;

  private constructor(registry: IngestRegistry, server: Server) {
    this.registry = registry;
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(opts: WhipTestServerOptions = {}): Promise<WhipTestServer> {
    const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    const registry = new IngestRegistry({
      iceServers: [],
      takeover: 'takeover',
      mediaTimeoutMs: 10_000,
      network: { useIpv6: false },
      ...opts,
      log,
    });
    const app = express();
    app.use(
      '/whip',
      whipRouter({
        ingest: registry,
        publishToken: opts.publishToken,
        iceServers: opts.linkIceServers ?? opts.iceServers ?? [],
      }),
    );
    app.use(notFoundHandler);
    app.use(errorHandler(log));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return new WhipTestServer(registry, server);
  }

  whipUrl(stream: string, query = ''): string {
    return `${this.url}/whip/${stream}${query}`;
  }

  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = (async () => {
        await this.registry.close();
        this.#server.closeAllConnections();
        await new Promise<void>((r) => this.#server.close(() => r()));
      })();
    }
    return this.#closing;
  }
}

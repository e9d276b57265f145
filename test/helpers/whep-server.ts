import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { clientGuards } from '../../src/api/auth.js';
import { errorHandler, notFoundHandler } from '../../src/api/errors.js';
import { whepRouter } from '../../src/api/routes/whep.js';
import { whipRouter } from '../../src/api/routes/whip.js';
import { createLogger } from '../../src/core/log.js';
import { IngestRegistry, WhepRegistry } from '../../src/ingest/index.js';
import { LiveStreams, type LiveSource } from '../../src/live/index.js';

export interface WhepTestServerOptions {
  viewToken?: string;
  maxViewersPerStream?: number;
}

/** WHIP and WHEP routers over an IngestRegistry and a WhepRegistry, on 127.0.0.1. */
export class WhepTestServer {
  readonly ingest: IngestRegistry;
  readonly whep: WhepRegistry;
  readonly streams: LiveStreams;
  readonly url: string;
  readonly #server: Server;
  #closing: Promise<void> | null = null;

  private constructor(ingest: IngestRegistry, whep: WhepRegistry, streams: LiveStreams, server: Server) {
    this.ingest = ingest;
    this.streams = streams;
    this.whep = whep;
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(opts: WhepTestServerOptions = {}): Promise<WhepTestServer> {
    const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    const network = { useIpv6: false };
    const streams = new LiveStreams({ takeover: 'takeover', log });
    const ingest = new IngestRegistry({
      streams,
      iceServers: [],
      mediaTimeoutMs: 10_000,
      network,
      log,
    });
    const whep = new WhepRegistry({
      streams,
      iceServers: [],
      network,
      log,
      ...(opts.maxViewersPerStream ? { maxViewersPerStream: opts.maxViewersPerStream } : {}),
    });
    const app = express();
    const guards = clientGuards({ trustProxy: null, authFailuresPerMinute: 1000, log });
    app.use('/whip', whipRouter({ ingest, publishToken: undefined, iceServers: [], guards }));
    app.use(
      '/whep',
      whepRouter({ whep, viewToken: opts.viewToken, iceServers: ['stun:stun.example.net:3478'], guards }),
    );
    app.use(notFoundHandler);
    app.use(errorHandler(log));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return new WhepTestServer(ingest, whep, streams, server);
  }

  /** The current publish session of a live stream. */
  publisher(stream: string): LiveSource | null {
    return this.streams.get(stream)?.source ?? null;
  }

  whipUrl(stream: string): string {
    return `${this.url}/whip/${stream}`;
  }

  whepUrl(stream: string): string {
    return `${this.url}/whep/${stream}`;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.whep.close();
      await this.ingest.close();
      this.#server.closeAllConnections();
      await new Promise<void>((r) => this.#server.close(() => r()));
    })();
    return this.#closing;
  }
}

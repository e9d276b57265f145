import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { clientGuards } from '../../src/api/auth.js';
import { errorHandler, notFoundHandler } from '../../src/api/errors.js';
import { whipRouter } from '../../src/api/routes/whip.js';
import type { TakeoverPolicy } from '../../src/core/config.js';
import { createLogger } from '../../src/core/log.js';
import { rungName } from '../../src/core/preset.js';
import { IngestRegistry, type IngestRegistryOptions } from '../../src/ingest/index.js';
import { LiveStreams, StreamViews, type LiveSource } from '../../src/live/index.js';

export interface WhipTestServerOptions extends Partial<Omit<IngestRegistryOptions, 'log' | 'streams'>> {
  publishToken?: string;
  /** ICE_SERVERS for the router's Link headers only (the registry gathers without them). */
  linkIceServers?: string[];
  /** TAKEOVER. @defaultValue takeover */
  takeover?: TakeoverPolicy;
  /** A stream went live (its first session), with the preset it asked for. */
  onStreamLive?: (streamId: string, presetId: string | undefined) => void;
  /** A stream ended without a takeover. */
  onStreamEnded?: (streamId: string) => void;
}

/**
 * The ingest (an IngestRegistry publishing into LiveStreams) behind the WHIP router in a
 * tiny express app on 127.0.0.1, as the real app mounts it.
 */
export class WhipTestServer {
  readonly registry: IngestRegistry;
  readonly streams: LiveStreams;
  /** The streams as GET /api/streams shows them (no jobs, no WHEP here). */
  readonly views: StreamViews;
  readonly url: string;
  readonly #server: Server;
  #closing: Promise<void> | null = null;

  private constructor(registry: IngestRegistry, streams: LiveStreams, server: Server) {
    this.registry = registry;
    this.streams = streams;
    this.views = new StreamViews({ streams, whep: null, jobs: null, presets: null, rungName });
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(opts: WhipTestServerOptions = {}): Promise<WhipTestServer> {
    const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    const { takeover, onStreamLive, onStreamEnded, publishToken, linkIceServers, ...rest } = opts;
    const streams = new LiveStreams({ takeover: takeover ?? 'takeover', log });
    if (onStreamLive) streams.onLive((s) => onStreamLive(s.id, s.presetId));
    if (onStreamEnded) streams.onEnded((s) => onStreamEnded(s.id));
    const registry = new IngestRegistry({
      iceServers: [],
      mediaTimeoutMs: 10_000,
      network: { useIpv6: false },
      ...rest,
      streams,
      log,
    });
    const app = express();
    const guards = clientGuards({ trustProxy: null, authFailuresPerMinute: 1000, log });
    app.use(
      '/whip',
      whipRouter({
        ingest: registry,
        publishToken,
        iceServers: linkIceServers ?? opts.iceServers ?? [],
        guards,
      }),
    );
    app.use(notFoundHandler);
    app.use(errorHandler(log));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return new WhipTestServer(registry, streams, server);
  }

  whipUrl(stream: string, query = ''): string {
    return `${this.url}/whip/${stream}${query}`;
  }

  /** Every session that becomes a stream's source (first publish or takeover); returns the unsubscribe. */
  onSession(listener: (s: LiveSource) => void): () => void {
    return watchSessions(this.streams, listener);
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

/** `listener` hears each source that becomes current in any stream, through a reader of each stream. */
export function watchSessions(streams: LiveStreams, listener: (s: LiveSource) => void): () => void {
  let on = true;
  const off = streams.onLive((stream) =>
    stream.addReader({ attach: (source) => on && listener(source), streamEnded: () => undefined }),
  );
  return () => {
    on = false;
    off();
  };
}

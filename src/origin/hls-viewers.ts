import type { IncomingMessage } from 'node:http';
import { isStreamId } from '../core/ids.js';
import type { StreamView } from '../core/streams.js';
import type { StreamsApi } from '../live/index.js';

export interface HlsViewersOptions {
  /** A client that asked for a playlist within this long is watching. @defaultValue 10000 */
  windowMs?: number;
  /** Clients remembered over all streams; past it new ones are not counted. @defaultValue 100000 */
  maxClients?: number;
}

/**
 * LL-HLS viewers per stream: the distinct clients (address and User-Agent) that asked
 * for one of its playlists within the last windowMs. HLS has no sessions; a player
 * reloads its media playlist every part (LL-HLS) or segment, so "asked recently" is
 * "watching". Behind a CDN or a proxy this counts its nodes, not people, and two tabs
 * of one browser count once. Called for every request before the fast lane: a prefix
 * test and, for playlists only, one Map write.
 */
export class HlsViewers {
  readonly #windowMs: number;
  readonly #maxClients: number;
  /** stream id → client key → last seen (ms). */
  readonly #seen = new Map<string, Map<string, number>>();
  #clients = 0;
  #sweptAt = 0;

  constructor(o: HlsViewersOptions = {}) {
    this.#windowMs = o.windowMs ?? 10_000;
    this.#maxClients = o.maxClients ?? 100_000;
  }

  observe(req: IncomingMessage, now = Date.now()): void {
    const url = req.url;
    if (url === undefined || !url.startsWith('/hls/') || req.method !== 'GET') return;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!path.endsWith('.m3u8')) return;
    const slash = path.indexOf('/', 5);
    if (slash < 0) return;
    const id = path.slice(5, slash);
    if (!isStreamId(id)) return;
    if (now - this.#sweptAt > this.#windowMs) this.#sweep(now);
    const key = `${req.socket?.remoteAddress ?? ''} ${req.headers['user-agent'] ?? ''}`;
    let clients = this.#seen.get(id);
    if (!clients) {
      clients = new Map();
      this.#seen.set(id, clients);
    }
    if (!clients.has(key)) {
      if (this.#clients >= this.#maxClients) return;
      this.#clients += 1;
    }
    clients.set(key, now);
  }

  /** Clients of `id` seen within the window. */
  count(id: string, now = Date.now()): number {
    let n = 0;
    for (const at of this.#seen.get(id)?.values() ?? []) if (now - at <= this.#windowMs) n += 1;
    return n;
  }

  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [id, clients] of this.#seen) {
      for (const [key, at] of clients) {
        if (now - at > this.#windowMs) {
          clients.delete(key);
          this.#clients -= 1;
        }
      }
      if (clients.size === 0) this.#seen.delete(id);
    }
  }

  /** `streams` with `viewers.hls` filled in from this count. */
  streams(streams: StreamsApi): StreamsApi {
    const add = (v: StreamView): StreamView => ({
      ...v,
      viewers: { whep: 0, ...v.viewers, hls: this.count(v.id) },
    });
    return {
      list: () => streams.list(),
      get: (id) => streams.get(id),
      withJob: async (v) => add(await streams.withJob(v)),
    };
  }
}

import { z } from 'zod';
import { isStreamId } from '../../core/ids.js';
import type { Logger } from '../../core/log.js';
import { OBJECT_NAME } from '../names.js';
import { liveRenditionStateSchema, type LiveRenditionState } from './state.js';

/**
 * How the live packager tells origins that a part was published: one event per rendition
 * change, carrying the rendition's whole playlist state (a few KB) so an origin renders
 * any form of the playlist from memory and wakes blocked requests at once, and the part's
 * bytes (up to a limit), so a held part request is answered from memory too, with S3 as
 * well as a local disk. Playlists and parts are also written to storage, so nothing is
 * lost when an event is: the next one carries the whole state.
 *
 * Inside one process (`npm start`) events go from the packager to the origin in-process
 * (LocalLiveBus); Redis pub/sub (RedisLiveBus, redis-bus.ts) carries them only to other
 * processes. joinLiveBuses() puts the two together.
 */

export interface LivePublishedPart {
  msn: number;
  part: number;
  uri: string;
}

export interface LiveEvent {
  v: 1;
  streamId: string;
  rendition: string;
  state: LiveRenditionState;
  /** The part this change published; null for a segment closed at the end of a run, or the end. */
  part: LivePublishedPart | null;
  /** When the packager published it, epoch ms (for latency figures). */
  at: number;
  /** The part's bytes, when they travel with the announcement (never in the JSON form). */
  partBody?: Buffer;
}

export type LiveListener = (e: LiveEvent) => void;

export interface LiveBus {
  /** Sends an event to every subscriber; resolves once handed to the transport. Never rejects. */
  publish(e: LiveEvent): Promise<void>;
  /** Receives every stream's events; returns the unsubscribe function. */
  subscribe(listener: LiveListener): () => void;
  /** Resolves once subscribers receive what is published from now on (Redis: the subscription is active). */
  ready(): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Parts up to this size travel with their announcement; larger ones are read from storage. */
export const DEFAULT_MAX_ANNOUNCED_PART_BYTES = 1024 * 1024;

const eventSchema = z.object({
  v: z.literal(1),
  streamId: z.string().refine(isStreamId),
  rendition: z.string(),
  state: liveRenditionStateSchema,
  part: z
    .object({
      msn: z.number().int().nonnegative(),
      part: z.number().int().nonnegative(),
      uri: z.string().regex(OBJECT_NAME),
    })
    .nullable(),
  at: z.number().nonnegative(),
});

/** The JSON form (no bytes). Messages come from another process: anything malformed is dropped, never rendered. */
export function parseLiveEvent(text: string): LiveEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null;
  }
  const r = eventSchema.safeParse(json);
  if (!r.success || r.data.rendition !== r.data.state.rendition) return null;
  return r.data as LiveEvent;
}

export function safeCall(listener: LiveListener, e: LiveEvent, log: Logger | undefined): void {
  try {
    listener(e);
  } catch (err) {
    log?.error({ err }, 'live event listener threw');
  }
}

/**
 * In one process: events reach subscribers synchronously, inside publish(), so a held
 * request is answered in the same turn the packager publishes. The packager goes on
 * changing its timeline, so each event carries a copy of the state, never the packager's
 * own object.
 */
export class LocalLiveBus implements LiveBus {
  readonly #listeners = new Set<LiveListener>();
  readonly #log: Logger | undefined;
  #closed = false;

  constructor(o: { log?: Logger } = {}) {
    this.#log = o.log;
  }

  publish(e: LiveEvent): Promise<void> {
    if (this.#closed || this.#listeners.size === 0) return Promise.resolve();
    const copy: LiveEvent = { ...e, state: structuredClone(e.state) };
    for (const l of this.#listeners) safeCall(l, copy, this.#log);
    return Promise.resolve();
  }

  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }
}

/**
 * The bus of a process: publishes reach this process's subscribers in-process and other
 * processes' through `remote` (which leaves out what this process sent); subscribers
 * hear both.
 */
export function joinLiveBuses(local: LiveBus, remote: LiveBus): LiveBus {
  return {
    publish: (e) => {
      void local.publish(e);
      return remote.publish(e);
    },
    subscribe: (l) => {
      const a = local.subscribe(l);
      const b = remote.subscribe(l);
      return () => {
        a();
        b();
      };
    },
    ready: () => Promise.all([local.ready(), remote.ready()]).then(() => undefined),
    close: () => Promise.all([local.close(), remote.close()]).then(() => undefined),
  };
}

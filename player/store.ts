import { panelShown } from './dom.js';
import { PRESETS_URL, restOfPresets } from './preset-pages.js';
import type { JobView, PresetEntry, StreamView, WorkerInfo } from './types.js';

/**
 * What the console shows comes from a few lists, each polled by one Poll shared by
 * every panel, never once per panel. A poll runs only while the browser tab is visible,
 * at a pace set by what is on screen, and revalidates with the ETag the API sends
 * (`cache: 'no-cache'`: the browser adds If-None-Match and an unchanged list costs a
 * bodiless 304); subscribers hear only of lists that changed.
 */
export class Poll<T> {
  readonly #url: string;
  /** Milliseconds until the next poll; null: not now (nothing on screen needs it). */
  readonly #every: () => number | null;
  readonly #listeners = new Set<(v: T) => void>();
  #value: T | undefined;
  #etag: string | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #paged = false;
  /** Called with the error of a failed poll, and with null once one succeeds again. */
  onError: ((e: unknown) => void) | null = null;

  /** Reads what follows a paged list's first page (the ETag covers the first page only). */
  readonly #rest: ((first: T) => Promise<T>) | undefined;

  constructor(url: string, every: () => number | null, rest?: (first: T) => Promise<T>) {
    this.#url = url;
    this.#every = every;
    this.#rest = rest;
    // Back to the tab: what is on screen is brought up to date at once.
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.#every() !== null) void this.refresh();
    });
  }

  get value(): T | undefined {
    return this.#value;
  }

  /** Listens for changes; hears the current value at once if there is one. */
  subscribe(fn: (v: T) => void): () => void {
    this.#listeners.add(fn);
    if (this.#value !== undefined) fn(this.#value);
    return () => this.#listeners.delete(fn);
  }

  /** Polls now (after a change made here, or when a panel opens), then on schedule. */
  refresh(): Promise<void> {
    this.#running ??= this.#poll().finally(() => {
      this.#running = null;
      this.#schedule();
    });
    return this.#running;
  }

  /** Re-reads the pace (a panel opened or closed). */
  reschedule(): void {
    if (!this.#running) this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const ms = this.#every();
    if (ms === null) return;
    this.#timer = setTimeout(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, ms);
  }

  async #poll(): Promise<void> {
    try {
      const res = await fetch(this.#url, { cache: 'no-cache' });
      if (!res.ok) throw new Error(`${this.#url} answered ${res.status}`);
      const etag = res.headers.get('etag');
      this.onError?.(null);
      if (etag !== null && etag === this.#etag && this.#value !== undefined && !this.#paged) return;
      this.#etag = etag;
      const first = (await res.json()) as T;
      const value = this.#rest ? await this.#rest(first) : first;
      // More than one page: a later page may change under an unchanged first one.
      this.#paged = value !== first;
      this.#value = value;
      for (const fn of this.#listeners) fn(this.#value);
    } catch (e) {
      this.onError?.(e);
    }
  }
}

/** The console's lists. Streams poll each second while health charts are on screen. */
export const streams = new Poll<{ streams: StreamView[] }>('/api/streams', () =>
  panelShown('health') ? 1000 : 2000,
);
export const jobs = new Poll<{ jobs: JobView[] }>('/api/jobs', () => 2000);
export const workers = new Poll<{ workers: WorkerInfo[] }>('/api/workers', () =>
  panelShown('workers') ? 2000 : null,
);
/** Presets change only when someone edits them: re-read every 30 s, and at once after a change here. */
export const presets = new Poll<{ presets: PresetEntry[] }>(PRESETS_URL, () => 30_000, restOfPresets);

export function startPolling(): void {
  for (const p of [streams, jobs, workers, presets]) void p.refresh();
}

/** A panel opened or closed: each list polls at the pace what is on screen needs. */
export function panelsChanged(): void {
  for (const p of [streams, jobs, workers, presets]) p.reschedule();
  if (panelShown('workers')) void workers.refresh();
}

/**
 * Watches one live media playlist the way a player does, and records what a viewer
 * would notice across a failover: when each part first appeared (the gaps between them),
 * whether the media sequence ever went back, whether any part or segment the playlist
 * listed answered an error while it was listed, and the discontinuities.
 */
export interface PlaylistSnapshot {
  mediaSequence: number;
  discontinuitySequence: number;
  /** EXT-X-DISCONTINUITY tags in the window. */
  discontinuities: number;
  /** Part and segment URIs, in playlist order (preload hints excluded: they may not exist yet). */
  uris: string[];
  partUris: string[];
}

export function parseSnapshot(text: string): PlaylistSnapshot {
  const s: PlaylistSnapshot = {
    mediaSequence: 0,
    discontinuitySequence: 0,
    discontinuities: 0,
    uris: [],
    partUris: [],
  };
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) s.mediaSequence = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-DISCONTINUITY-SEQUENCE:'))
      s.discontinuitySequence = Number(line.slice(30));
    else if (line === '#EXT-X-DISCONTINUITY') s.discontinuities++;
    else if (line.startsWith('#EXT-X-PART:')) {
      const uri = /URI="([^"]+)"/.exec(line)?.[1];
      if (uri) {
        s.uris.push(uri);
        s.partUris.push(uri);
      }
    } else if (line !== '' && !line.startsWith('#')) s.uris.push(line);
  }
  return s;
}

export class PlaylistMonitor {
  /** Part URI → when it was first listed (ms since epoch), in order of appearance. */
  readonly partSeen = new Map<string, number>();
  readonly problems: string[] = [];
  last: PlaylistSnapshot | null = null;
  /** Highest EXT-X-DISCONTINUITY-SEQUENCE + tags in the window seen. */
  maxDiscontinuities = 0;
  readonly #base: string;
  readonly #playlist: string;
  readonly #checked = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #busy = false;
  #lastFullCheck = 0;
  readonly #fullCheckEveryMs: number | null;

  /**
   * `base`: e.g. http://127.0.0.1:1234/hls/cam; `rendition`: e.g. 240p. Each newly listed
   * URI is fetched once, as a player would; `fullCheckEveryMs` (default 2000, null: never)
   * fetches the whole window again that often, to catch a listed URI that went missing.
   */
  constructor(base: string, rendition: string, opts: { fullCheckEveryMs?: number | null } = {}) {
    this.#base = base;
    this.#playlist = `${base}/${rendition}.m3u8`;
    this.#fullCheckEveryMs = opts.fullCheckEveryMs === undefined ? 2000 : opts.fullCheckEveryMs;
  }

  start(everyMs = 100): void {
    this.#timer ??= setInterval(() => void this.#poll(), everyMs);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /**
   * The longest wait between two parts appearing, for the parts that appeared between
   * `fromMs` and `toMs` (each compared with the part before it, which may be older).
   */
  maxGapMs(fromMs: number, toMs: number): number {
    let prev: number | null = null;
    let gap = 0;
    for (const t of [...this.partSeen.values()].sort((a, b) => a - b)) {
      if (prev !== null && t >= fromMs && t <= toMs) gap = Math.max(gap, t - prev);
      prev = t;
    }
    return gap;
  }

  /** Parts that appeared after `ms`. */
  partsAfter(ms: number): number {
    return [...this.partSeen.values()].filter((t) => t > ms).length;
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const res = await fetch(this.#playlist);
      if (res.status === 404 && this.last === null) return; // not started yet
      if (res.status !== 200) {
        this.problems.push(`playlist answered ${res.status}`);
        return;
      }
      const snap = parseSnapshot(await res.text());
      const now = Date.now();
      if (this.last && snap.mediaSequence < this.last.mediaSequence) {
        this.problems.push(`media sequence went back: ${this.last.mediaSequence} → ${snap.mediaSequence}`);
      }
      for (const uri of snap.partUris) if (!this.partSeen.has(uri)) this.partSeen.set(uri, now);
      this.last = snap;
      this.maxDiscontinuities = Math.max(
        this.maxDiscontinuities,
        snap.discontinuitySequence + snap.discontinuities,
      );
      // Every newly listed URI at once; the whole window again now and then.
      const full = this.#fullCheckEveryMs !== null && now - this.#lastFullCheck > this.#fullCheckEveryMs;
      if (full) this.#lastFullCheck = now;
      const toCheck = snap.uris.filter((u) => full || !this.#checked.has(u));
      await Promise.all(
        toCheck.map(async (uri) => {
          this.#checked.add(uri);
          const r = await fetch(`${this.#base}/${uri}`);
          await r.arrayBuffer();
          if (r.status !== 200) this.problems.push(`${uri} answered ${r.status} while listed`);
        }),
      );
    } catch (e) {
      this.problems.push(`poll failed: ${String(e)}`);
    } finally {
      this.#busy = false;
    }
  }
}

/**
 * Follows one live Media Playlist the way an LL-HLS client does: a blocking reload
 * (`_HLS_msn`/`_HLS_part`) for the part after the newest one, issued again the moment the
 * previous answer arrives. Every answer's arrival time is recorded with the newest part it
 * lists; every part listed is fetched (in the background) with its init segment, so the
 * frames it carries can be decoded afterwards, away from the measurement.
 */
import { parseMediaPlaylist, type MediaPlaylist } from '../../src/packager/playlist/media.js';

/** One part as the follower saw it. */
export interface FollowedPart {
  msn: number;
  part: number;
  uri: string;
  independent: boolean;
  /** EXT-X-MAP URI in force for it. */
  map: string;
  bytes: Promise<Buffer | null>;
}

/** A playlist answer that listed a part newer than any before it. */
export interface EdgeSample {
  msn: number;
  part: number;
  /** When the answer (its whole body) arrived, epoch ms. */
  arrivalMs: number;
}

const wallMs = (): number => performance.timeOrigin + performance.now();
const key = (msn: number, part: number): string => `${msn}.${part}`;

interface Listed {
  msn: number;
  part: number;
  uri: string;
  independent: boolean;
  map: string;
}

/** Every part a playlist lists, in order, with the EXT-X-MAP in force for each. */
function listedParts(p: MediaPlaylist): Listed[] {
  const out: Listed[] = [];
  let map = p.map?.uri ?? '';
  p.segments.forEach((seg, i) => {
    if (seg.map) map = seg.map.uri;
    const msn = p.mediaSequence + (p.skip?.skippedSegments ?? 0) + i;
    (seg.parts ?? []).forEach((pt, j) =>
      out.push({ msn, part: j, uri: pt.uri, independent: !!pt.independent, map }),
    );
  });
  if (p.trailingTags?.map) map = p.trailingTags.map.uri;
  const openMsn = p.mediaSequence + (p.skip?.skippedSegments ?? 0) + p.segments.length;
  (p.trailingParts ?? []).forEach((pt, j) =>
    out.push({ msn: openMsn, part: j, uri: pt.uri, independent: !!pt.independent, map }),
  );
  return out;
}

/** The (msn, part) a blocking reload asks for next: the part after the newest listed. */
function nextRequest(p: MediaPlaylist): { msn: number; part: number } {
  const openMsn = p.mediaSequence + (p.skip?.skippedSegments ?? 0) + p.segments.length;
  return { msn: openMsn, part: p.trailingParts?.length ?? 0 };
}

export class LlhlsFollower {
  readonly rendition: string;
  readonly samples: EdgeSample[] = [];
  readonly parts = new Map<string, FollowedPart>();
  /** Arrival of the first answer that listed a part, epoch ms. */
  firstPartMs: number | null = null;
  /** EXT-X-PROGRAM-DATE-TIME of the first media in that answer: when ingest received its first frame. */
  firstPdtMs: number | null = null;
  reloads = 0;
  errors = 0;
  /** How long each part or init GET took, ms. */
  readonly getMs: number[] = [];
  readonly #base: string;
  readonly #inits = new Map<string, Promise<Buffer | null>>();
  readonly #ac = new AbortController();
  #newest: string | null = null;
  #running: Promise<void> | null = null;

  /** `base`: the stream's directory URL, e.g. http://host/hls/bench (no trailing slash). */
  constructor(base: string, rendition: string) {
    this.#base = base;
    this.rendition = rendition;
  }

  start(): void {
    this.#running ??= this.#run().catch((e: unknown) => {
      // A playlist that does not parse ends the following; the samples so far stand.
      if (!this.#ac.signal.aborted) console.error(`following ${this.rendition} stopped: ${String(e)}`);
    });
  }

  /** Stops following (a held request is abandoned) and waits for the fetches under way. Idempotent. */
  async stop(): Promise<void> {
    this.#ac.abort();
    await this.#running;
    await Promise.allSettled([...this.parts.values()].map((p) => p.bytes));
  }

  init(uri: string): Promise<Buffer | null> {
    let p = this.#inits.get(uri);
    if (!p) {
      p = this.#get(uri);
      this.#inits.set(uri, p);
    }
    return p;
  }

  async #get(uri: string): Promise<Buffer | null> {
    try {
      const t0 = performance.now();
      const res = await fetch(`${this.#base}/${uri}`);
      if (res.status !== 200) {
        await res.body?.cancel();
        return null;
      }
      const body = Buffer.from(await res.arrayBuffer());
      this.getMs.push(performance.now() - t0);
      return body;
    } catch {
      return null;
    }
  }

  async #run(): Promise<void> {
    const url = `${this.#base}/${this.rendition}.m3u8`;
    const signal = this.#ac.signal;
    let playlist: MediaPlaylist | null = null;
    // Until the origin knows the stream (404 from storage), poll: the first part's time
    // is what this waits for, so keep the step small.
    while (!signal.aborted) {
      const res = await fetch(url, { signal }).catch(() => null);
      if (res && res.status !== 200) await res.body?.cancel();
      const text = res?.status === 200 ? await res.text() : null;
      if (text !== null) {
        const p = parseMediaPlaylist(text);
        if (listedParts(p).length > 0) {
          this.#take(p, wallMs());
          playlist = p;
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    while (!signal.aborted && playlist) {
      const next = nextRequest(playlist);
      let res: Response;
      try {
        res = await fetch(`${url}?_HLS_msn=${next.msn}&_HLS_part=${next.part}`, { signal });
      } catch {
        if (signal.aborted) return;
        // The service went away or the connection broke: try again shortly.
        this.errors++;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (res.status !== 200) {
        // 503: the part did not come in time; ask for the whole playlist again.
        this.errors++;
        await res.body?.cancel();
        const again = await fetch(url, { signal }).catch(() => null);
        if (again?.status === 200) playlist = parseMediaPlaylist(await again.text());
        else await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const text = await res.text().catch(() => null);
      const at = wallMs();
      if (text === null) continue;
      this.reloads++;
      playlist = parseMediaPlaylist(text);
      if (playlist.endList) return;
      this.#take(playlist, at);
    }
  }

  #take(p: MediaPlaylist, at: number): void {
    const listed = listedParts(p);
    const newest = listed[listed.length - 1];
    if (!newest) return;
    for (const l of listed) {
      const k = key(l.msn, l.part);
      if (this.parts.has(k)) continue;
      this.parts.set(k, { ...l, bytes: this.#get(l.uri) });
      void this.init(l.map);
    }
    const k = key(newest.msn, newest.part);
    if (k === this.#newest) return;
    this.#newest = k;
    if (this.firstPartMs === null) {
      this.firstPartMs = at;
      const pdt = p.segments[0]?.programDateTime ?? p.trailingTags?.programDateTime;
      this.firstPdtMs = pdt ? pdt.getTime() : null;
    }
    this.samples.push({ msn: newest.msn, part: newest.part, arrivalMs: at });
  }

  /**
   * Bytes that decode to the frames of part (msn, part): the init segment, then the parts
   * from the last independent one up to it (a part that starts without a key frame does
   * not decode alone). Null when one of them is missing.
   */
  async decodable(msn: number, part: number): Promise<Buffer | null> {
    const ordered = [...this.parts.values()].sort((a, b) => a.msn - b.msn || a.part - b.part);
    const at = ordered.findIndex((p) => p.msn === msn && p.part === part);
    if (at < 0) return null;
    let from = at;
    while (from > 0 && !ordered[from]!.independent) from--;
    const chain = ordered.slice(from, at + 1);
    if (!chain[0]!.independent) return null;
    // Contiguous: no part of the chain may have been missed.
    for (let i = 1; i < chain.length; i++) {
      const a = chain[i - 1]!;
      const b = chain[i]!;
      if (!((b.msn === a.msn && b.part === a.part + 1) || (b.msn === a.msn + 1 && b.part === 0))) return null;
    }
    const init = await this.init(chain[0]!.map);
    const bodies = await Promise.all(chain.map((c) => c.bytes));
    if (!init || bodies.some((b) => b === null)) return null;
    return Buffer.concat([init, ...(bodies as Buffer[])]);
  }
}

import { parsePartName, type LiveRenditionState, type StoredObject } from '../packager/index.js';

/** A part in memory with its parsed name, so that a hit needs no parsing. */
interface KeptPart {
  obj: StoredObject;
  rendition: string;
  msn: number;
  part: number;
}

/** Whether part (msn, part) belongs to a segment the window holds: open, or complete and not a gap. */
export function partInWindow(s: LiveRenditionState, msn: number, part: number): boolean {
  if (s.open && s.open.msn === msn) return part < s.open.parts.length;
  const seg = s.segments[msn - s.mediaSequence];
  return seg !== undefined && seg.msn === msn && !seg.gap && part < seg.partCount;
}

/**
 * Recent parts of live streams, by `{streamId}/{name}`: those that arrived with their
 * announcement, and those read from storage once. A part is served from here only while
 * its segment is in the rendition's window (so storage still has it: the packager
 * writes a part before announcing it and deletes it only after its segment left the
 * window). Bounded by bytes; the least recently used goes first.
 */
export class PartMemory {
  readonly #cap: number;
  /** Least recently used first. */
  readonly #parts = new Map<string, KeptPart>();
  #bytes = 0;

  constructor(capBytes: number) {
    this.#cap = capBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Part `name` of the stream, if kept and still in the window `state` (the rendition's
   * latest state, looked up by the caller) describes; null: read storage.
   */
  get(
    streamId: string,
    name: string,
    state: (rendition: string) => LiveRenditionState | null,
  ): StoredObject | null {
    const key = `${streamId}/${name}`;
    const kept = this.#parts.get(key);
    if (!kept) return null;
    const s = state(kept.rendition);
    if (!s || s.ended || !partInWindow(s, kept.msn, kept.part)) {
      this.#drop(key);
      return null;
    }
    // Most recently used last.
    this.#parts.delete(key);
    this.#parts.set(key, kept);
    return kept.obj;
  }

  /** Keeps part `name` of the stream when its rendition's latest state (`state`) lists it. */
  keep(
    streamId: string,
    name: string,
    obj: StoredObject,
    state: (rendition: string) => LiveRenditionState | null,
  ): void {
    const key = `${streamId}/${name}`;
    if (this.#parts.has(key) || obj.body.length > this.#cap / 4) return;
    const p = parsePartName(name);
    const s = p && state(p.rendition);
    if (!p || !s || s.ended) return;
    if (!partInWindow(s, p.msn, p.part)) return;
    this.#parts.set(key, { obj, rendition: p.rendition, msn: p.msn, part: p.part });
    this.#bytes += obj.body.length;
    for (const k of this.#parts.keys()) {
      if (this.#bytes <= this.#cap) break;
      this.#drop(k);
    }
  }

  /** Forgets every part of a stream. */
  dropStream(streamId: string): void {
    const prefix = `${streamId}/`;
    for (const key of [...this.#parts.keys()]) if (key.startsWith(prefix)) this.#drop(key);
  }

  clear(): void {
    this.#parts.clear();
    this.#bytes = 0;
  }

  #drop(key: string): void {
    const kept = this.#parts.get(key);
    if (!kept) return;
    this.#parts.delete(key);
    this.#bytes -= kept.obj.body.length;
  }
}

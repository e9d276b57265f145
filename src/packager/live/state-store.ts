import { z } from 'zod';
import { OBJECT_NAME } from '../names.js';
import { liveRenditionStateSchema, type LiveRenditionState } from './state.js';
import type { RetiredSegment } from './timeline.js';

/**
 * What a live rendition stores beside its Media Playlist (`{rendition}.state.json`) so
 * that the worker that takes the stream over resumes exactly where this one left off:
 * the playlist state players were shown, the segments that left the window and still
 * await deletion, and the highest init segment index used. Written before every stored
 * playlist, so it is never older than the playlist players can read.
 */
export interface RenditionSnapshot {
  v: 1;
  state: LiveRenditionState;
  retired: RetiredSegment[];
  /** Highest `{rendition}_init_{n}.mp4` index written so far. */
  initIndex: number;
}

const name = z.string().regex(OBJECT_NAME).max(81);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

const snapshotSchema = z.object({
  v: z.literal(1),
  state: liveRenditionStateSchema,
  retired: z.array(z.object({ msn: count, names: z.array(name).max(100_000), map: name })).max(10_000),
  initIndex: count,
});

export function encodeSnapshot(s: RenditionSnapshot): Buffer {
  return Buffer.from(JSON.stringify(s));
}

/** Throws an Error saying what is wrong with a stored snapshot of rendition `rendition`. */
export function decodeSnapshot(text: string, rendition: string): RenditionSnapshot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('its state is not JSON');
  }
  const r = snapshotSchema.safeParse(json);
  if (!r.success) throw new Error(`its state does not match the schema: ${r.error.issues[0]?.message ?? ''}`);
  if (r.data.state.rendition !== rendition) {
    throw new Error(`its state is of rendition ${r.data.state.rendition}, not ${rendition}`);
  }
  return r.data as RenditionSnapshot;
}

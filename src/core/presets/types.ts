import { z } from 'zod';
import { PresetSchema } from '../preset.js';

/**
 * A preset as the store holds it, and as GET /api/presets answers it: the validated
 * data plus where it came from.
 */
export const PresetEntrySchema = z.object({
  preset: PresetSchema,
  // Shipped in presets/ with the code: listed and usable, never changed through the API.
  builtIn: z.boolean().describe('Shipped with whipcast; read-only.'),
  // The file's modification time, so it survives a restart unchanged.
  updatedAt: z.iso.datetime(),
});
export type PresetEntry = z.infer<typeof PresetEntrySchema>;

/** What replace() did: `created` when no preset had that id (PUT answers 201 then). */
export interface ReplaceResult extends PresetEntry {
  created: boolean;
}

/** One page of the list: `next` is the cursor of the page after it (null: this is the last). */
export interface PresetPage {
  entries: PresetEntry[];
  next: string | null;
}

/**
 * What the API (and the job client, to snapshot a preset into a job) needs of the
 * preset store. Inputs are untrusted: every method validates, and failures are
 * AppErrors (validation_failed naming the field, not_found, conflict, read_only).
 */
export interface PresetStore {
  /** Built-ins first, then user presets, each by id. */
  list(): Promise<PresetEntry[]>;
  /**
   * The list a page at a time: up to `limit` entries after the one with id `after` (from
   * the start without it). An `after` deleted since still finds its place.
   */
  page(q: { after?: string; limit: number }): Promise<PresetPage>;
  get(id: string): Promise<PresetEntry>;
  /**
   * 409 conflict when the id is taken, by a built-in as well, or when the store holds its
   * most user presets; validation_failed for a preset over the cost ceiling.
   */
  create(input: unknown): Promise<PresetEntry>;
  /**
   * Replaces the user preset `id`, or creates it when there is none. The body's id
   * must equal `id` or be absent; built-ins are read_only.
   */
  replace(id: string, input: unknown): Promise<ReplaceResult>;
  /** Built-ins are read_only; an unknown id is not_found. */
  delete(id: string): Promise<void>;
}

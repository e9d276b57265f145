import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { isPresetId, PRESET_ID } from '../../core/ids.js';
import { PresetEntrySchema, type PresetEntry, type PresetStore } from '../../core/presets/types.js';
import { jsonBody } from '../body.js';
import { parseOrThrow } from '../../core/presets/validation.js';
import { param } from '../params.js';

/** GET /api/presets answers this. */
export const PresetListSchema = z.object({
  presets: z.array(PresetEntrySchema).describe('Built-ins first, then user presets, each by id.'),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
});
export type PresetList = z.infer<typeof PresetListSchema>;

/** Presets per page unless `limit` says otherwise, and the most `limit` may ask for. */
export const PRESET_PAGE = { default: 100, max: 500 } as const;

/** GET /api/presets's query: which page. The route parses it; the document is generated from it. */
const LIMIT_RULE = `must be a whole number from 1 to ${PRESET_PAGE.max}`;
export const PresetPageQuerySchema = z.object({
  limit: z.coerce
    .number({ error: LIMIT_RULE })
    .int(LIMIT_RULE)
    .min(1, LIMIT_RULE)
    .max(PRESET_PAGE.max, LIMIT_RULE)
    .default(PRESET_PAGE.default)
    .describe(`Presets per page, 1 to ${PRESET_PAGE.max}.`),
  cursor: z
    .string()
    .regex(PRESET_ID, 'must be the nextCursor of an earlier page')
    .optional()
    .describe("The previous page's `nextCursor`; absent: the first page."),
});

/** Where createApp mounts presetsRouter. */
export const PRESETS_MOUNT = '/api/presets';

export interface PresetsRouteDeps {
  presets: PresetStore;
  /** Guards POST, PUT and DELETE (API_TOKEN). */
  requireApiToken: RequestHandler;
}

/** The wire form of a store entry: data and metadata apart, so `preset` can be PUT back as is. */
function view(e: PresetEntry): PresetEntry {
  return { preset: e.preset, builtIn: e.builtIn, updatedAt: e.updatedAt };
}

/** An id from the path; one that no preset could have is 404 before anything touches the disk. */
function presetId(req: Request): string {
  const id = param(req, 'id');
  if (!isPresetId(id)) throw new AppError('not_found', 'no preset with that id');
  return id;
}

function location(res: Response, id: string): void {
  res.location(`${PRESETS_MOUNT}/${id}`);
}

/**
 * /api/presets: list, create, read, replace (PUT of an unknown id creates it: 201),
 * delete. Bodies are the preset itself; answers are `{preset, builtIn, updatedAt}`.
 * Mutating routes authenticate before they read a body.
 */
export function presetsRouter(deps: PresetsRouteDeps): Router {
  const r = Router();
  const { presets, requireApiToken } = deps;

  r.get('/', async (req, res) => {
    const q = parseOrThrow(PresetPageQuerySchema, { limit: req.query['limit'], cursor: req.query['cursor'] });
    const page = await presets.page({
      limit: q.limit,
      ...(q.cursor !== undefined ? { after: q.cursor } : {}),
    });
    res.json({ presets: page.entries.map(view), nextCursor: page.next } satisfies PresetList);
  });

  r.post('/', requireApiToken, jsonBody(), async (req, res) => {
    const entry = await presets.create(req.body);
    location(res, entry.preset.id);
    res.status(201).json(view(entry));
  });

  r.get('/:id', async (req, res) => {
    res.json(view(await presets.get(presetId(req))));
  });

  r.put('/:id', requireApiToken, jsonBody(), async (req, res) => {
    const result = await presets.replace(presetId(req), req.body);
    if (result.created) location(res, result.preset.id);
    res.status(result.created ? 201 : 200).json(view(result));
  });

  r.delete('/:id', requireApiToken, async (req, res) => {
    await presets.delete(presetId(req));
    res.status(204).end();
  });

  return r;
}

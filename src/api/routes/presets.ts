import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { isPresetId } from '../../core/ids.js';
import { PresetEntrySchema, type PresetEntry, type PresetStore } from '../../core/presets/types.js';
import { jsonBody } from '../body.js';
import { param } from '../params.js';

/** GET /api/presets answers this. */
export const PresetListSchema = z.object({ presets: z.array(PresetEntrySchema) });
export type PresetList = z.infer<typeof PresetListSchema>;

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

  r.get('/', async (_req, res) => {
    res.json({ presets: (await presets.list()).map(view) } satisfies PresetList);
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

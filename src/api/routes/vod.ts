import { mkdirSync } from 'node:fs';
import { lstat, realpath, unlink } from 'node:fs/promises';
import path from 'node:path';
import express, {
  Router,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import multer from 'multer';
import { z } from 'zod';
import { AppError } from '../../core/errors.js';
import { isPresetId, isStreamId, PRESET_ID, STREAM_ID } from '../../core/ids.js';
import type { JobsApi, VodRequest } from '../../workers/index.js';
import { requireFreeSpace, uploadName } from '../uploads.js';

export interface VodRouteDeps {
  jobs: JobsApi;
  requireApiToken: RequestHandler;
  /** Files named in JSON requests must be inside this directory. */
  mediaDir: string;
  /** Uploads are stored here until their job has packaged them. */
  uploadDir: string;
  maxUploadBytes: number;
  /** Free bytes the upload folder's file system must keep (MIN_FREE_DISK_MB): an upload below gets 507. */
  minFreeBytes: number;
}

/** A plain file name: no separators, no leading dot, no URL scheme. */
const MEDIA_NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,200}$/;

/** What POST /api/vod takes beside the file, as JSON or as multipart fields. */
const vodOptions = {
  presetId: z.string().regex(PRESET_ID).optional().describe('Default: `default`.'),
  id: z.string().regex(STREAM_ID).optional().describe('Asset and job id; generated if absent.'),
};

/**
 * POST /api/vod with a JSON body: a file in MEDIA_DIR. For the document and the list
 * of keys; the route checks the values itself, so that each error names its field
 * with the rule it broke (and a file name that leaves the directory is refused).
 */
export const VodFileRequestSchema = z.strictObject({
  name: z
    .string()
    .describe('A plain file name inside the media directory (MEDIA_DIR). Never a path or a URL.'),
  ...vodOptions,
});

/** POST /api/vod as multipart/form-data; multer reads it. */
export const VodUploadSchema = z.object({
  file: z.string().meta({ contentMediaType: 'application/octet-stream', description: 'The media file.' }),
  ...vodOptions,
});

const ALLOWED_KEYS = new Set(Object.keys(VodFileRequestSchema.shape));

function optionalField(body: Record<string, unknown>, key: 'presetId' | 'id'): string | undefined {
  const v = body[key];
  if (v === undefined || v === '') return undefined;
  const ok = typeof v === 'string' && (key === 'id' ? isStreamId(v) : isPresetId(v));
  if (!ok) {
    const rule = key === 'id' ? STREAM_ID.source : PRESET_ID.source;
    throw new AppError('validation_failed', `${key} must match ${rule}`, { field: key });
  }
  return v;
}

/** Resolves a media-dir file name to its real path, refusing anything that leaves the directory. */
export async function resolveMediaFile(mediaDir: string, name: unknown): Promise<string> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new AppError('validation_failed', 'name (a file inside the media directory) is required', {
      field: 'name',
    });
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) {
    throw new AppError('validation_failed', 'URLs are not accepted: name a file inside the media directory', {
      field: 'name',
    });
  }
  if (!MEDIA_NAME.test(name) || name.includes('..')) {
    throw new AppError('validation_failed', 'name must be a plain file name inside the media directory', {
      field: 'name',
    });
  }
  const notFound = () =>
    new AppError('validation_failed', `no file ${name} in the media directory`, { field: 'name' });
  let root: string;
  let real: string;
  try {
    root = await realpath(mediaDir);
    real = await realpath(path.join(root, name));
  } catch {
    throw notFound();
  }
  // A symlink inside the media dir must not lead out of it.
  if (path.dirname(real) !== root) throw notFound();
  const st = await lstat(real);
  if (!st.isFile()) throw notFound();
  return real;
}

export function vodRouter(deps: VodRouteDeps): Router {
  mkdirSync(deps.uploadDir, { recursive: true });
  const upload = multer({
    storage: multer.diskStorage({
      destination: deps.uploadDir,
      filename: (_req, _file, cb) => cb(null, uploadName()),
    }),
    limits: { fileSize: deps.maxUploadBytes, files: 1, fields: 4, fieldSize: 1024, parts: 6 },
  }).single('file');

  const freeSpace = requireFreeSpace(deps.uploadDir, deps.minFreeBytes);
  const store: RequestHandler = (req, res, next) => {
    upload(req, res, (err: unknown) => {
      if (!err) return next();
      if (err instanceof multer.MulterError) {
        const tooLarge = err.code === 'LIMIT_FILE_SIZE';
        return next(
          new AppError(
            tooLarge ? 'payload_too_large' : 'validation_failed',
            tooLarge ? `the file is larger than ${deps.maxUploadBytes} bytes` : `bad upload: ${err.message}`,
            { field: err.field ?? 'file' },
          ),
        );
      }
      next(err);
    });
  };

  const r = Router();
  r.post(
    '/',
    deps.requireApiToken,
    (req: Request, res: Response, next: NextFunction) => {
      if (req.is('multipart/form-data')) {
        return freeSpace(req, res, (err?: unknown) => (err ? next(err) : store(req, res, next)));
      }
      if (req.is('application/json')) return express.json({ limit: 16 * 1024, strict: true })(req, res, next);
      next(
        new AppError(
          'unsupported_media_type',
          'POST /api/vod takes multipart/form-data (field "file") or application/json ({"name": ...})',
        ),
      );
    },
    async (req: Request, res: Response) => {
      const uploaded = req.file?.path;
      try {
        const body = (req.body ?? {}) as Record<string, unknown>;
        if (typeof body !== 'object' || Array.isArray(body)) {
          throw new AppError('validation_failed', 'the body must be a JSON object');
        }
        // Cheap syntax checks first, so the error names the field the caller got wrong.
        const id = optionalField(body, 'id');
        const presetId = optionalField(body, 'presetId');
        let input: VodRequest['input'];
        if (req.is('multipart/form-data')) {
          if (!req.file)
            throw new AppError('validation_failed', 'the multipart field "file" is required', {
              field: 'file',
            });
          input = { path: req.file.path, deleteAfter: true, label: req.file.originalname.slice(0, 200) };
        } else {
          for (const k of Object.keys(body)) {
            if (!ALLOWED_KEYS.has(k))
              throw new AppError('validation_failed', `unknown field ${k}`, { field: k });
          }
          const resolved = await resolveMediaFile(deps.mediaDir, body.name);
          input = { path: resolved, deleteAfter: false, label: String(body.name) };
        }
        const view = await deps.jobs.enqueueVod({ id, presetId, input });
        res.status(202).location(`/api/jobs/${view.id}`).json(view);
      } catch (e) {
        // Nothing changes on a rejected request: the upload goes too.
        if (uploaded) await unlink(uploaded).catch(() => undefined);
        throw e;
      }
    },
  );
  return r;
}

import { randomBytes } from 'node:crypto';
import { readdir, stat, statfs, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { RequestHandler } from 'express';
import { AppError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/**
 * The uploads of POST /api/vod on disk (DATA_DIR/uploads): their names, the free-space
 * floor a new one must leave, and the sweep that deletes the ones no job will read. A job
 * deletes its upload itself when it completes, fails for the last time or is cancelled;
 * what is left over (a process killed between storing an upload and queueing its job, a
 * job failed by BullMQ's stall check with no worker alive to clean up) is an orphan.
 */

/** Only names this code gives are ever swept: an operator's own files in the folder stay. */
const UPLOAD_NAME = /^upload-\d{1,16}-[0-9a-f]{12}$/;

/** Where uploads are stored until their job has read them. */
export function uploadDirOf(dataDir: string): string {
  return path.join(dataDir, 'uploads');
}

export function uploadName(): string {
  return `upload-${Date.now()}-${randomBytes(6).toString('hex')}`;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.floor(bytes / MB);

/** Free bytes for an unprivileged writer on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Refuses an upload (507) when the file system holding `dir` has less than `floorBytes`
 * free once the request's body (its Content-Length, when sent) is stored: the disk also
 * holds the packaged HLS and the presets, and a full disk stops every live stream.
 */
export function requireFreeSpace(dir: string, floorBytes: number): RequestHandler {
  return (req, _res, next) => {
    if (floorBytes <= 0) return next();
    const length = Number(req.get('content-length') ?? 0);
    const body = Number.isFinite(length) && length > 0 ? length : 0;
    freeBytes(dir).then(
      (free) => {
        if (free - body >= floorBytes) return next();
        const upload = body > 0 ? `, and this upload would take ${Math.ceil(body / MB)} MB of it` : '';
        next(
          new AppError(
            'insufficient_storage',
            `the data directory has ${mb(free)} MB free${upload}; it must keep ${mb(floorBytes)} MB ` +
              '(MIN_FREE_DISK_MB): free some space there (or lower MIN_FREE_DISK_MB) and upload again',
          ),
        );
      },
      // Cannot tell: the write itself will fail if the disk really is full.
      () => next(),
    );
  };
}

export interface UploadSweepOptions {
  dir: string;
  /** Paths the queue still needs (jobs not finished yet); throws when it cannot tell. */
  inUse: () => Promise<ReadonlySet<string>>;
  log: Logger;
  /** An upload written to this recently may still be arriving, or about to be queued. @defaultValue 15 min */
  graceMs?: number;
  now?: () => number;
}

/**
 * Deletes the uploads no unfinished job names. Returns how many it deleted; when the queue
 * cannot say what it needs (Redis down), deletes nothing.
 */
export async function sweepOrphanUploads(o: UploadSweepOptions): Promise<number> {
  let names: string[];
  try {
    names = (await readdir(o.dir)).filter((n) => UPLOAD_NAME.test(n));
  } catch {
    return 0; // no uploads folder yet
  }
  if (names.length === 0) return 0;
  let inUse: ReadonlySet<string>;
  try {
    inUse = await o.inUse();
  } catch (e) {
    o.log.warn({ err: errorMessage(e) }, 'uploads not swept: the job queue cannot say which are in use');
    return 0;
  }
  const before = (o.now ?? Date.now)() - (o.graceMs ?? 15 * 60_000);
  let deleted = 0;
  for (const name of names) {
    const file = path.join(o.dir, name);
    if (inUse.has(file)) continue;
    try {
      if ((await stat(file)).mtimeMs > before) continue;
      await unlink(file);
      deleted++;
    } catch {
      // gone meanwhile
    }
  }
  if (deleted > 0) o.log.info({ deleted, dir: o.dir }, 'deleted uploads no job needs');
  return deleted;
}

/**
 * Sweeps at start-up (`first` settles when that sweep is done) and then every `everyMs`,
 * which also catches what a stall-failed job leaves while the process runs.
 */
export class UploadSweeper {
  readonly first: Promise<number>;
  readonly #timer: NodeJS.Timeout;

  constructor(o: UploadSweepOptions & { everyMs?: number }) {
    this.first = sweepOrphanUploads(o);
    this.#timer = setInterval(() => void sweepOrphanUploads(o), o.everyMs ?? 3_600_000);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }
}

import { contentTypeFor, isAssetId, parseKey } from '../names.js';
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../core/errors.js';
import type { Storage, StoredObject } from './storage.js';

// Duck-typed: errors from node's fs can come from another realm (vm contexts), where instanceof fails.
const isErrno = (e: unknown, ...codes: string[]): boolean =>
  typeof e === 'object' && e !== null && codes.includes(String((e as NodeJS.ErrnoException).code));

/**
 * Storage on local disk: `<root>/<assetId>/<name>`. Writes go to a temp file and are
 * renamed into place, so a reader sees the old object or the new one, never half a
 * segment. Reads refuse symlinks and anything but regular files, so a link planted
 * in the folder cannot expose files outside it. The content type is derived from the
 * name's extension on read (the `contentType` given to put is not stored).
 */
export class LocalStorage implements Storage {
  readonly root: string;
  /**
   * Asset folders this object created or checked (a real directory, not a link): a live
   * stream writes a dozen objects a second into one, and three syscalls each to prove the
   * folder again are most of a put's cost. deleteAsset forgets the folder.
   */
  readonly #knownDirs = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(key: string, body: Uint8Array, _contentType: string): Promise<void> {
    const k = parseKey(key);
    if (!k) throw new AppError('bad_request', `invalid storage key ${JSON.stringify(key)}`);
    try {
      await this.#write(await this.#assetDir(k.assetId, true), k.name, body);
    } catch (e) {
      // The folder went away behind our back (another process deleted the asset): once more.
      if (!isErrno(e, 'ENOENT')) throw e;
      this.#knownDirs.delete(path.join(this.root, k.assetId));
      await this.#write(await this.#assetDir(k.assetId, true), k.name, body);
    }
  }

  async #write(dir: string, name: string, body: Uint8Array): Promise<void> {
    // Temp names start with '.', which no valid object name does, so they are never served.
    const tmp = path.join(dir, `.tmp-${randomUUID()}`);
    try {
      await writeFile(tmp, body, { flag: 'wx' });
      await rename(tmp, path.join(dir, name));
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    const k = parseKey(key);
    if (!k) return null;
    const dir = await this.#assetDir(k.assetId, false);
    if (!dir) return null;
    let fh;
    try {
      // O_NOFOLLOW: a symlink fails with ELOOP; O_NONBLOCK: a planted FIFO cannot hang the read.
      fh = await open(
        path.join(dir, k.name),
        constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      );
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ELOOP', 'ENOTDIR', 'EISDIR')) return null;
      throw e;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return null;
      const body = await fh.readFile();
      return { body, contentType: contentTypeFor(k.name), modified: st.mtime };
    } finally {
      await fh.close();
    }
  }

  async delete(key: string): Promise<void> {
    const k = parseKey(key);
    if (!k) return;
    const dir = await this.#assetDir(k.assetId, false);
    if (!dir) return;
    // unlink removes a planted symlink itself, never what it points to.
    await unlink(path.join(dir, k.name)).catch((e: unknown) => {
      // A directory under an object's name was never an object: nothing to delete.
      if (!isErrno(e, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw e;
    });
  }

  async deleteAsset(assetId: string): Promise<void> {
    if (!isAssetId(assetId)) throw new AppError('bad_request', `invalid asset id ${JSON.stringify(assetId)}`);
    this.#knownDirs.delete(path.join(this.root, assetId));
    // rm does not follow a symlinked asset folder; it removes the link itself.
    await rm(path.join(this.root, assetId), { recursive: true, force: true });
  }

  async close(): Promise<void> {}

  /** The asset's folder if it is a real directory (created when `create`); null otherwise. */
  async #assetDir(assetId: string, create: true): Promise<string>;
  async #assetDir(assetId: string, create: false): Promise<string | null>;
  async #assetDir(assetId: string, create: boolean): Promise<string | null> {
    const dir = path.join(this.root, assetId);
    if (this.#knownDirs.has(dir)) return dir;
    if (create) {
      await mkdir(this.root, { recursive: true });
      await mkdir(dir).catch((e: unknown) => {
        if (!isErrno(e, 'EEXIST')) throw e;
      });
    }
    try {
      const st = await lstat(dir);
      if (st.isDirectory() && !st.isSymbolicLink()) {
        this.#knownDirs.add(dir);
        return dir;
      }
    } catch (e) {
      if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
    }
    if (create) throw new AppError('conflict', `storage folder for ${assetId} is not a directory`);
    return null;
  }
}

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AppError, errorMessage } from '../errors.js';
import { isPresetId } from '../ids.js';
import type { Logger } from '../log.js';
import { packageRoot } from '../paths.js';
import { PresetSchema, type Preset } from '../preset.js';
import { checkPresetCost } from './cost.js';
import type { PresetEntry, PresetPage, PresetStore, ReplaceResult } from './types.js';
import { parseOrThrow } from './validation.js';

export interface FilePresetStoreOptions {
  /** Read-only presets shipped with the code. Default: defaultBuiltInDir(). */
  builtInDir?: string;
  /** User presets live in `<dataDir>/presets/<id>.json`. */
  dataDir: string;
  log?: Logger;
  /** User presets kept at most (MAX_USER_PRESETS); a new one past it is a conflict. @defaultValue no limit */
  maxUserPresets?: number;
  /** The most a user preset may cost (MAX_PRESET_COST, see cost.ts). @defaultValue no limit */
  maxCost?: number;
}

/** `presets/` in the package root, wherever the code runs from (src or dist). */
export function defaultBuiltInDir(): string {
  return path.join(packageRoot(), 'presets');
}

const notFound = (id: string) =>
  new AppError('not_found', isPresetId(id) ? `no preset ${id}` : 'no preset with that id');

const readOnly = (id: string) =>
  new AppError(
    'read_only',
    `preset ${id} is built in and read-only; create a copy under another id (POST /api/presets) to change it`,
  );

/**
 * Presets on the file system: built-ins from the package's presets/ folder, user
 * presets as one JSON file each under DATA_DIR/presets. Everything is loaded once and
 * served from memory; this store is the only writer of its directory, so the memory
 * and the disk only differ while a write is in flight.
 */
export class FilePresetStore implements PresetStore {
  readonly #builtInDir: string;
  readonly #userDir: string;
  readonly #log: Logger | undefined;
  readonly #maxUsers: number;
  readonly #maxCost: number;
  readonly #builtIns = new Map<string, PresetEntry>();
  readonly #users = new Map<string, PresetEntry>();
  /** New user presets being written now: they count against the cap before they exist. */
  #creating = 0;
  #loading: Promise<void> | null = null;
  /** Tail of each id's write queue: writes to one id run one after another. */
  readonly #locks = new Map<string, Promise<void>>();

  constructor(opts: FilePresetStoreOptions) {
    this.#builtInDir = opts.builtInDir ?? defaultBuiltInDir();
    this.#userDir = path.join(opts.dataDir, 'presets');
    this.#log = opts.log?.child({ component: 'presets' });
    this.#maxUsers = opts.maxUserPresets ?? Infinity;
    this.#maxCost = opts.maxCost ?? Infinity;
  }

  /**
   * Reads both directories. Every method calls it, so calling it at start-up only
   * moves the work (and a broken built-in's error) there. Idempotent.
   */
  load(): Promise<void> {
    this.#loading ??= this.#load().catch((e: unknown) => {
      this.#loading = null;
      throw e;
    });
    return this.#loading;
  }

  async list(): Promise<PresetEntry[]> {
    await this.load();
    return this.#ordered().map((e) => structuredClone(e));
  }

  async page(q: { after?: string; limit: number }): Promise<PresetPage> {
    await this.load();
    const all = this.#ordered();
    let start = 0;
    if (q.after !== undefined) {
      const after = q.after;
      // A user preset deleted since the last page still marks where its successors start.
      start = this.#builtIns.has(after)
        ? all.findIndex((e) => e.preset.id === after) + 1
        : all.findIndex((e) => !e.builtIn && e.preset.id > after);
      if (start < 0) start = all.length;
    }
    const entries = all.slice(start, start + q.limit).map((e) => structuredClone(e));
    const last = entries[entries.length - 1];
    return { entries, next: start + q.limit < all.length && last ? last.preset.id : null };
  }

  /** Built-ins by id, then user presets by id: the order pages follow. */
  #ordered(): PresetEntry[] {
    const byId = (a: PresetEntry, b: PresetEntry) => (a.preset.id < b.preset.id ? -1 : 1);
    return [...[...this.#builtIns.values()].sort(byId), ...[...this.#users.values()].sort(byId)];
  }

  async get(id: string): Promise<PresetEntry> {
    await this.load();
    const e = isPresetId(id) ? (this.#builtIns.get(id) ?? this.#users.get(id)) : undefined;
    if (!e) throw notFound(id);
    return structuredClone(e);
  }

  async create(input: unknown): Promise<PresetEntry> {
    await this.load();
    const preset = this.#parse(input);
    return this.#exclusive(preset.id, async () => {
      if (this.#builtIns.has(preset.id) || this.#users.has(preset.id)) {
        const what = this.#builtIns.has(preset.id) ? 'a built-in preset' : 'a preset';
        throw new AppError('conflict', `id: ${what} with id ${preset.id} already exists`, { field: 'id' });
      }
      return structuredClone(await this.#writeNew(preset));
    });
  }

  async replace(id: string, input: unknown): Promise<ReplaceResult> {
    await this.load();
    if (!isPresetId(id)) throw notFound(id);
    if (this.#builtIns.has(id)) throw readOnly(id);
    const preset = this.#parse(withPathId(input, id));
    return this.#exclusive(id, async () => {
      const created = !this.#users.has(id);
      const entry = created ? await this.#writeNew(preset) : await this.#write(preset);
      return { ...structuredClone(entry), created };
    });
  }

  /** A user preset from untrusted input: valid, and within the cost ceiling. */
  #parse(input: unknown): Preset {
    const preset = parseOrThrow(PresetSchema, input);
    checkPresetCost(preset, this.#maxCost);
    return preset;
  }

  /** Writes a preset that adds to the count, unless the count is at its cap (409). */
  async #writeNew(preset: Preset): Promise<PresetEntry> {
    if (this.#users.size + this.#creating >= this.#maxUsers) {
      throw new AppError(
        'conflict',
        `there are ${this.#users.size} user presets, the most this server keeps (MAX_USER_PRESETS): ` +
          'delete one (DELETE /api/presets/{id}) before creating another',
      );
    }
    this.#creating++;
    try {
      return await this.#write(preset);
    } finally {
      this.#creating--;
    }
  }

  async delete(id: string): Promise<void> {
    await this.load();
    if (!isPresetId(id)) throw notFound(id);
    if (this.#builtIns.has(id)) throw readOnly(id);
    await this.#exclusive(id, async () => {
      if (!this.#users.has(id)) throw notFound(id);
      try {
        await unlink(this.#fileOf(id));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      this.#users.delete(id);
    });
  }

  async #load(): Promise<void> {
    this.#builtIns.clear();
    this.#users.clear();
    // A broken built-in is a bug in this release, not a user's mistake: refuse to start.
    for (const name of (await readdir(this.#builtInDir)).filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(this.#builtInDir, name);
      try {
        const entry = await readPresetFile(file, true);
        this.#builtIns.set(entry.preset.id, entry);
      } catch (e) {
        throw new Error(`built-in preset ${file}: ${errorMessage(e)}`, { cause: e });
      }
    }

    await mkdir(this.#userDir, { recursive: true });
    for (const name of (await readdir(this.#userDir)).sort()) {
      const file = path.join(this.#userDir, name);
      if (name.startsWith('.') && name.endsWith('.tmp')) {
        // Left by a write that died before its rename: the old file is still intact.
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      if (this.#builtIns.has(id)) {
        this.#log?.warn({ file }, 'skipping a user preset that has the id of a built-in');
        continue;
      }
      try {
        const entry = await readPresetFile(file, false);
        this.#users.set(id, entry);
      } catch (e) {
        // One bad file must not take the other presets (or the service) down.
        this.#log?.warn({ file, err: errorMessage(e) }, 'skipping an invalid user preset file');
      }
    }
    this.#log?.debug({ builtIn: this.#builtIns.size, user: this.#users.size }, 'presets loaded');
  }

  #fileOf(id: string): string {
    return path.join(this.#userDir, `${id}.json`);
  }

  /** Temp file + fsync + rename: a crash leaves the old preset or the new one, never half of one. */
  async #write(preset: Preset): Promise<PresetEntry> {
    const file = this.#fileOf(preset.id);
    const tmp = path.join(
      this.#userDir,
      `.${preset.id}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(JSON.stringify(preset, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await syncDir(this.#userDir);
    const entry: PresetEntry = { preset, builtIn: false, updatedAt: (await stat(file)).mtime.toISOString() };
    this.#users.set(preset.id, entry);
    return entry;
  }

  async #exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.#locks.set(id, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    }
  }
}

async function readPresetFile(file: string, builtIn: boolean): Promise<PresetEntry> {
  const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`not valid JSON: ${errorMessage(e)}`, { cause: e });
  }
  const preset = parseOrThrow(PresetSchema, json);
  const id = path.basename(file, '.json');
  if (preset.id !== id) throw new Error(`its id "${preset.id}" differs from its file name`);
  return { preset, builtIn, updatedAt: st.mtime.toISOString() };
}

/** A body without an id takes the path's; one with a different id is an error, not a rename. */
function withPathId(input: unknown, id: string): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  if (!Object.hasOwn(input, 'id')) return { ...input, id };
  if ((input as { id?: unknown }).id !== id) {
    throw new AppError('validation_failed', `id: must equal the id in the path (${id}) or be left out`, {
      field: 'id',
    });
  }
  return input;
}

/** Makes the rename itself durable; not every platform can open a directory, hence best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort
  }
}

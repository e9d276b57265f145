import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/log.js';
import type { PresetInput } from '../../src/core/preset.js';
import { defaultBuiltInDir, FilePresetStore } from '../../src/core/presets/store.js';

const rung = { width: 1280, height: 720, fps: 30, videoBitrateKbps: 2500 };
/** A valid preset with some fields changed; deliberately loose, since the tests also send invalid ones. */
const input = (over: Record<string, unknown> = {}): PresetInput & Record<string, unknown> => ({
  id: 'mine',
  name: 'Mine',
  ladder: [rung],
  ...over,
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('FilePresetStore', () => {
  let dataDir: string;
  let userDir: string;
  let logLines: string[];
  const open = () =>
    new FilePresetStore({
      dataDir,
      log: createLogger('debug', { write: (s: string) => void logLines.push(s) }),
    });

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'whipcast-presets-'));
    userDir = path.join(dataDir, 'presets');
    logLines = [];
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists the built-ins first, marked read-only', async () => {
    const list = await open().list();
    expect(list.map((e) => [e.preset.id, e.builtIn])).toEqual([
      ['default', true],
      ['light', true],
      ['low-latency', true],
      ['passthrough', true],
    ]);
    expect(new Date(list[0]?.updatedAt ?? '').getTime()).not.toBeNaN();
  });

  it('creates, reads, replaces and deletes a user preset, one file per id', async () => {
    const s = open();
    const created = await s.create(input());
    expect(created.builtIn).toBe(false);
    // Stored with its defaults filled in: what a job snapshots is what GET shows.
    expect(created.preset.gopSeconds).toBe(2);
    expect(created.preset.ladder[0]?.codec).toBe('h264');
    expect(readdirSync(userDir)).toEqual(['mine.json']);
    expect(JSON.parse(readFileSync(path.join(userDir, 'mine.json'), 'utf8'))).toEqual(created.preset);

    expect(await s.get('mine')).toEqual(created);
    const replaced = await s.replace('mine', { name: 'Renamed', ladder: [rung] });
    expect(replaced.created).toBe(false);
    expect((await s.get('mine')).preset.name).toBe('Renamed');

    await s.delete('mine');
    expect(readdirSync(userDir)).toEqual([]);
    expect((await rejection(s.get('mine'))).code).toBe('not_found');
    expect((await rejection(s.delete('mine'))).code).toBe('not_found');
  });

  it('creates through replace() when the id is new, and says so', async () => {
    const s = open();
    const r = await s.replace('fresh', { name: 'Fresh', ladder: [rung] });
    expect(r.created).toBe(true);
    expect(r.preset.id).toBe('fresh');
  });

  it('keeps user presets across a restart, updatedAt included', async () => {
    const before = await open().create(input({ description: 'kept' }));
    const after = await open().get('mine');
    expect(after).toEqual(before);
  });

  it('refuses ids that are taken, by a built-in too', async () => {
    const s = open();
    await s.create(input());
    const dup = await rejection(s.create(input({ name: 'Other' })));
    expect([dup.code, dup.status, dup.field]).toEqual(['conflict', 409, 'id']);
    const builtIn = await rejection(s.create(input({ id: 'default' })));
    expect([builtIn.code, builtIn.status]).toEqual(['conflict', 409]);
    expect(builtIn.message).toMatch(/built-in/);
    expect((await s.get('mine')).preset.name).toBe('Mine');
  });

  it('keeps the built-ins read-only', async () => {
    const s = open();
    const before = await s.get('default');
    for (const e of [
      await rejection(s.replace('default', { ...before.preset, name: 'Mine now' })),
      await rejection(s.delete('default')),
    ]) {
      expect([e.code, e.status]).toEqual(['read_only', 409]);
      expect(e.message).toMatch(/default is built in and read-only/);
    }
    expect(await s.get('default')).toEqual(before);
    expect(readdirSync(userDir)).toEqual([]);
  });

  it('rejects a body whose id differs from the path id', async () => {
    const e = await rejection(open().replace('mine', input({ id: 'other' })));
    expect([e.code, e.field]).toEqual(['validation_failed', 'id']);
  });

  it('answers ids no preset can have with not_found, without touching the disk', async () => {
    const s = open();
    for (const id of ['../etc', '..', 'UPPER', '', 'a/b', 'x'.repeat(65)]) {
      expect((await rejection(s.get(id))).code).toBe('not_found');
      expect((await rejection(s.delete(id))).code).toBe('not_found');
      expect((await rejection(s.replace(id, { name: 'x', ladder: [rung] }))).code).toBe('not_found');
    }
    expect(readdirSync(dataDir)).toEqual(['presets']);
    expect(readdirSync(userDir)).toEqual([]);
  });

  it.each([
    [{ ladder: [{ ...rung, width: 1281 }] }, 'ladder.0.width', /^ladder\.0\.width: must be even$/],
    [{ ladder: [{ ...rung, width: 5000 }] }, 'ladder.0.width', /must be at most 3840/],
    [{ ladder: [] }, 'ladder', /1 to 6 rungs/],
    [
      { encoders: { x264: { preset: 'ultrafast -i /etc/passwd' } } },
      'encoders.x264.preset',
      /one of ultrafast,/,
    ],
    [{ colour: 'red' }, 'colour', /^colour: unknown field; allowed: id, name,/],
    [{ segmentSeconds: 5 }, 'segmentSeconds', /whole multiple of gopSeconds/],
  ])('validates %j: field %s', async (over, field, message) => {
    const s = open();
    const e = await rejection(s.create(input(over)));
    expect([e.code, e.status, e.field]).toEqual(['validation_failed', 400, field]);
    expect(e.message).toMatch(message);
    expect(readdirSync(userDir)).toEqual([]);
  });

  it('logs and skips corrupt or mismatched user files, and loads the rest', async () => {
    mkdirSync(userDir, { recursive: true });
    writeFileSync(path.join(userDir, 'broken.json'), '{"id": "broken", ');
    writeFileSync(path.join(userDir, 'invalid.json'), JSON.stringify(input({ id: 'invalid', ladder: [] })));
    writeFileSync(path.join(userDir, 'renamed.json'), JSON.stringify(input({ id: 'other' })));
    writeFileSync(path.join(userDir, 'default.json'), JSON.stringify(input({ id: 'default' })));
    writeFileSync(path.join(userDir, 'good.json'), JSON.stringify(input({ id: 'good' })));
    writeFileSync(path.join(userDir, 'README.txt'), 'not a preset');

    const list = await open().list();
    expect(list.map((e) => e.preset.id)).toEqual(['default', 'light', 'low-latency', 'passthrough', 'good']);
    expect(list.find((e) => e.preset.id === 'default')?.builtIn).toBe(true);
    const warnings = logLines.map((l) => JSON.parse(l) as { level: number; file?: string; err?: string });
    const skipped = warnings.filter((w) => w.level === 40).map((w) => path.basename(w.file ?? ''));
    expect(skipped.sort()).toEqual(['broken.json', 'default.json', 'invalid.json', 'renamed.json']);
    expect(warnings.find((w) => w.file?.endsWith('invalid.json'))?.err).toMatch(/ladder: needs 1 to 6 rungs/);
  });

  it('removes temp files a crashed write left behind, keeping the preset it was replacing', async () => {
    await open().create(input());
    writeFileSync(path.join(userDir, '.mine.123.abcdef.tmp'), '{"id": "mine", "name": "half wr');
    const s = open();
    expect((await s.get('mine')).preset.name).toBe('Mine');
    expect(readdirSync(userDir)).toEqual(['mine.json']);
  });

  it('serializes concurrent writes to one id: the file and memory agree on one whole body', async () => {
    const s = open();
    await s.create(input());
    const names = Array.from({ length: 25 }, (_, i) => `Name ${i}`);
    await Promise.all(names.map((name) => s.replace('mine', { name, ladder: [rung] })));
    const inMemory = await s.get('mine');
    const onDisk = await open().get('mine');
    expect(names).toContain(inMemory.preset.name);
    expect(onDisk.preset).toEqual(inMemory.preset);
    expect(readdirSync(userDir)).toEqual(['mine.json']);
  });

  it('lets exactly one of many concurrent creates of one id win', async () => {
    const s = open();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => s.create(input({ name: `Try ${i}` }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected.map((r) => (r.reason as AppError).code)).toEqual(Array(9).fill('conflict'));
  });

  it('returns copies: changing a returned preset changes nothing stored', async () => {
    const s = open();
    const e = await s.get('default');
    e.preset.name = 'changed';
    e.preset.ladder.pop();
    const again = await s.get('default');
    expect(again.preset.name).not.toBe('changed');
    expect(again.preset.ladder).toHaveLength(4);
  });

  it('refuses to load a broken built-in, naming the file', async () => {
    const builtInDir = mkdtempSync(path.join(tmpdir(), 'whipcast-builtins-'));
    try {
      writeFileSync(path.join(builtInDir, 'bad.json'), JSON.stringify(input({ id: 'bad', ladder: [] })));
      const s = new FilePresetStore({ builtInDir, dataDir });
      await expect(s.load()).rejects.toThrow(/built-in preset .*bad\.json: ladder: needs 1 to 6 rungs/);
    } finally {
      rmSync(builtInDir, { recursive: true, force: true });
    }
  });

  it('finds presets/ in the package root from the compiled code', () => {
    expect(readdirSync(defaultBuiltInDir())).toContain('default.json');
  });
});

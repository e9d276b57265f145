import { contentTypeFor, isObjectName, parseKey } from '../../src/packager/names.js';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LocalStorage } from '../../src/packager/storage/local.js';

describe('storage keys', () => {
  it.each([
    ['abc/index.m3u8', { assetId: 'abc', name: 'index.m3u8' }],
    ['Cam_1-x/720p_12.3.m4s', { assetId: 'Cam_1-x', name: '720p_12.3.m4s' }],
  ])('accepts %s', (key, want) => {
    expect(parseKey(key)).toEqual(want);
  });

  it.each([
    'abc',
    'abc/',
    '/index.m3u8',
    '../index.m3u8',
    'abc/../x',
    'abc/a..m3u8',
    'abc/.hidden',
    'abc/sub/x.m4s',
    'abc/x\\y.m4s',
    'abc/X.m4s',
    'abc/%2e%2e',
    '-abc/x.m4s',
    `${'a'.repeat(65)}/x.m4s`,
    `abc/${'a'.repeat(82)}`,
    'abc/x.m4s\0',
  ])('refuses %j', (key) => {
    expect(parseKey(key)).toBeNull();
  });

  it('refuses any name holding ".."', () => {
    expect(isObjectName('a..b')).toBe(false);
  });

  it.each([
    ['index.m3u8', 'application/vnd.apple.mpegurl'],
    ['720p_init.mp4', 'video/mp4'],
    ['720p_1.m4s', 'video/mp4'],
    ['x.bin', 'application/octet-stream'],
  ])('%s is served as %s', (name, type) => {
    expect(contentTypeFor(name)).toBe(type);
  });
});

describe('LocalStorage', () => {
  let root: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'whipcast-storage-'));
    storage = new LocalStorage(path.join(root, 'hls'));
  });
  afterEach(async () => {
    await storage.close();
    await rm(root, { recursive: true, force: true });
  });

  it('stores and reads back under <root>/<asset>/<name>', async () => {
    const before = Date.now();
    await storage.put('a1/index.m3u8', Buffer.from('#EXTM3U\n'), 'application/vnd.apple.mpegurl');
    const got = await storage.get('a1/index.m3u8');
    expect(got?.body.toString()).toBe('#EXTM3U\n');
    expect(got?.contentType).toBe('application/vnd.apple.mpegurl');
    expect(got!.modified.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await readdir(path.join(root, 'hls', 'a1'))).toEqual(['index.m3u8']);
  });

  it('replaces atomically and leaves no temp files', async () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      storage.put('a1/x.m4s', Buffer.alloc(10_000, i), 'video/mp4'),
    );
    await Promise.all(writes);
    const got = await storage.get('a1/x.m4s');
    // One whole write won, never a mix.
    expect(new Set(got!.body).size).toBe(1);
    expect(await readdir(path.join(root, 'hls', 'a1'))).toEqual(['x.m4s']);
  });

  it('returns null for keys never written and for invalid keys', async () => {
    expect(await storage.get('a1/none.m4s')).toBeNull();
    expect(await storage.get('../etc/passwd')).toBeNull();
    expect(await storage.get('a1/../../x')).toBeNull();
  });

  it('refuses to write an invalid key', async () => {
    await expect(storage.put('a1/../x.m4s', Buffer.alloc(1), 'video/mp4')).rejects.toThrow(
      /invalid storage key/,
    );
    await expect(storage.put('a1/.tmp-x', Buffer.alloc(1), 'video/mp4')).rejects.toThrow(
      /invalid storage key/,
    );
  });

  it('does not follow a symlink planted as an object', async () => {
    await writeFile(path.join(root, 'secret.txt'), 'secret');
    await storage.put('a1/index.m3u8', Buffer.from('x'), 'application/vnd.apple.mpegurl');
    await symlink(path.join(root, 'secret.txt'), path.join(root, 'hls', 'a1', 'leak.m3u8'));
    expect(await storage.get('a1/leak.m3u8')).toBeNull();
  });

  it('does not follow a symlinked asset folder, and will not write through it', async () => {
    await mkdir(path.join(root, 'elsewhere'));
    await writeFile(path.join(root, 'elsewhere', 'index.m3u8'), 'secret');
    await mkdir(path.join(root, 'hls'), { recursive: true });
    await symlink(path.join(root, 'elsewhere'), path.join(root, 'hls', 'linked'));
    expect(await storage.get('linked/index.m3u8')).toBeNull();
    await expect(storage.put('linked/x.m4s', Buffer.alloc(1), 'video/mp4')).rejects.toThrow(
      /not a directory/,
    );
  });

  it('serves only regular files: not directories, not FIFOs', async () => {
    await mkdir(path.join(root, 'hls', 'a1', 'dir.m4s'), { recursive: true });
    expect(await storage.get('a1/dir.m4s')).toBeNull();
    execFileSync('mkfifo', [path.join(root, 'hls', 'a1', 'fifo.m4s')]);
    expect(await storage.get('a1/fifo.m4s')).toBeNull();
  });

  it('deletes an asset and nothing else', async () => {
    await storage.put('a1/x.m4s', Buffer.alloc(1), 'video/mp4');
    await storage.put('a2/x.m4s', Buffer.alloc(1), 'video/mp4');
    await storage.deleteAsset('a1');
    expect(await storage.get('a1/x.m4s')).toBeNull();
    expect(await storage.get('a2/x.m4s')).not.toBeNull();
    await storage.deleteAsset('never-written');
    await expect(storage.deleteAsset('..')).rejects.toThrow(/invalid asset id/);
  });
});

import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { LocalStorage } from '../../src/packager/storage/local.js';

describe('LocalStorage.delete (live packaging removes old parts)', () => {
  let root: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'whipcast-delete-'));
    storage = new LocalStorage(path.join(root, 'hls'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('deletes an object; a missing one or an invalid key is not an error', async () => {
    await storage.put('s/v_1.0.m4s', Buffer.from('x'), 'video/mp4');
    await storage.delete('s/v_1.0.m4s');
    expect(await storage.get('s/v_1.0.m4s')).toBeNull();
    await storage.delete('s/v_1.0.m4s');
    await storage.delete('nobody/v_1.0.m4s');
    await storage.delete('s/../../etc/passwd');
    await storage.delete('../x');
  });

  it('removes a planted symlink itself, never its target, and leaves directories alone', async () => {
    await storage.put('s/index.m3u8', Buffer.from('#EXTM3U\n'), 'application/vnd.apple.mpegurl');
    const secret = path.join(root, 'secret.txt');
    await writeFile(secret, 'secret');
    await symlink(secret, path.join(root, 'hls', 's', 'link.m4s'));
    await mkdir(path.join(root, 'hls', 's', 'dir.m4s'));
    await storage.delete('s/link.m4s');
    await storage.delete('s/dir.m4s');
    expect(await readFile(secret, 'utf8')).toBe('secret');
    expect(await storage.get('s/index.m3u8')).not.toBeNull();
  });
});

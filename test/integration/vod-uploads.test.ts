import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import { makeTestClip } from '../helpers/media.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

async function upload(base: string, bytes: Buffer, fields: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'video/mp4' }), 'clip.mp4');
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fetch(`${base}/api/vod`, { method: 'POST', body: form });
}

const job = async (base: string, id: string) =>
  (await (await fetch(`${base}/api/jobs/${id}`)).json()) as JobView;

/**
 * Issue 12, "uploads are never deleted": an upload is deleted when its job fails for the
 * last time or is cancelled (queued or running), leftovers are swept at start-up, and a
 * new upload is refused (507) when the data directory's disk is under the floor.
 */
describe('uploads on disk', () => {
  let clip: Buffer;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'whipcast-uploads-'));
    // Long enough that a cancel lands while the job runs.
    clip = readFileSync(
      await makeTestClip(path.join(work, 'clips'), {
        seconds: 30,
        width: 1280,
        height: 720,
        fps: 30,
        audio: true,
      }),
    );
  }, 60_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  describe('with a worker', () => {
    let t: Started;
    let uploads: string;

    beforeAll(async () => {
      t = await startTestService();
      uploads = path.join(t.dir, 'data', 'uploads');
    }, 60_000);
    afterAll(async () => t?.close());

    it('deletes the upload of a job that failed for good', async () => {
      const res = await upload(t.service.url, Buffer.from('this is not a video, whatever its name says'), {
        id: 'bad-upload',
      });
      expect(res.status).toBe(202);
      await waitFor(
        'the job to fail',
        async () => (await job(t.service.url, 'bad-upload')).state === 'failed',
        30_000,
      );
      await waitFor('the upload to be deleted', async () => list(uploads).length === 0, 5000, 50);
    }, 60_000);

    it('deletes the upload of a running job that is cancelled', async () => {
      const res = await upload(t.service.url, clip, { id: 'cancel-running', presetId: 'default' });
      expect(res.status).toBe(202);
      expect(list(uploads)).toHaveLength(1);
      await waitFor(
        'the job to run',
        async () => (await job(t.service.url, 'cancel-running')).state === 'active',
        30_000,
        100,
      );
      const cancel = await fetch(`${t.service.url}/api/jobs/cancel-running`, { method: 'DELETE' });
      expect(cancel.status).toBe(202);
      await waitFor(
        'the job to be cancelled',
        async () => (await job(t.service.url, 'cancel-running')).state === 'cancelled',
        30_000,
      );
      await waitFor('the upload to be deleted', async () => list(uploads).length === 0, 5000, 50);
    }, 90_000);
  });

  describe('with no worker (jobs wait)', () => {
    const dataDir = () => path.join(work, 'data');
    const uploads = () => path.join(dataDir(), 'uploads');
    const prefix = `up${process.pid}${Date.now().toString(36)}`;
    const env = () => ({ ROLES: 'api,ingest', DATA_DIR: dataDir(), QUEUE_PREFIX: prefix });
    let t: Started | null = null;
    afterAll(async () => t?.close());

    it('deletes the upload of a queued job that is cancelled', async () => {
      t = await startTestService(env());
      expect((await upload(t.service.url, clip, { id: 'cancel-queued' })).status).toBe(202);
      expect(list(uploads())).toHaveLength(1);
      const cancel = await fetch(`${t.service.url}/api/jobs/cancel-queued`, { method: 'DELETE' });
      expect(cancel.status).toBe(200);
      expect(((await cancel.json()) as JobView).state).toBe('cancelled');
      expect(list(uploads())).toEqual([]);
    }, 60_000);

    it('sweeps orphaned uploads at start-up, and keeps what a job needs, what is fresh and what is not ours', async () => {
      // A job that waits for a worker: its upload is in use.
      expect((await upload(t!.service.url, clip, { id: 'waiting' })).status).toBe(202);
      const [inUse] = list(uploads());
      await t!.close();
      t = null;
      const hourAgo = new Date(Date.now() - 3600_000);
      mkdirSync(uploads(), { recursive: true });
      const orphan = 'upload-1700000000000-0123456789ab';
      const fresh = 'upload-1700000000001-0123456789ac';
      const notOurs = 'operator-notes.txt';
      for (const n of [orphan, fresh, notOurs]) writeFileSync(path.join(uploads(), n), 'x');
      for (const n of [orphan, notOurs, inUse!]) utimesSync(path.join(uploads(), n), hourAgo, hourAgo);

      t = await startTestService(env());
      expect(list(uploads())).toEqual([inUse, notOurs, fresh].sort());
    }, 60_000);

    it('refuses an upload with 507 when the disk is under MIN_FREE_DISK_MB, storing and queueing nothing', async () => {
      await t?.close();
      const s = await statfs(work);
      const freeMb = Math.floor((s.bavail * s.bsize) / 1024 / 1024);
      t = await startTestService({ ...env(), MIN_FREE_DISK_MB: String(freeMb + 100_000) });
      const before = list(uploads());
      const res = await upload(t.service.url, clip, { id: 'no-room' });
      expect(res.status).toBe(507);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('insufficient_storage');
      expect(body.error.message).toMatch(
        /^the data directory has \d+ MB free, and this upload would take \d+ MB/,
      );
      expect(body.error.message).toMatch(/MIN_FREE_DISK_MB/);
      expect(list(uploads())).toEqual(before);
      expect((await fetch(`${t.service.url}/api/jobs/no-room`)).status).toBe(404);
      // A file named in MEDIA_DIR stores nothing: not held to the floor.
      const json = await fetch(`${t.service.url}/api/vod`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'missing.mp4' }),
      });
      expect(json.status).toBe(400);
    }, 60_000);
  });
});

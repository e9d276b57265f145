import { unlink } from 'node:fs/promises';
import type { VodJobData } from '../core/jobs.js';

/**
 * Deletes a file job's input when it is an upload (ours: `deleteAfter`) and no attempt
 * will read it again: the job completed, failed for the last time, or was cancelled. A
 * file named in MEDIA_DIR is the user's and stays.
 */
export async function deleteUpload(input: VodJobData['input'] | undefined): Promise<void> {
  if (!input?.deleteAfter) return;
  await unlink(input.path).catch(() => undefined);
}

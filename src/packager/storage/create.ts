import path from 'node:path';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { Storage } from './storage.js';
import type { BacklogStats } from './upload-queue.js';

/**
 * The Storage that config names: `DATA_DIR/hls` on disk (STORAGE=local), or the S3 bucket
 * (STORAGE=s3, credentials from the SDK's default chain: AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE, an instance or task role).
 */
export function createStorage(config: Config, log: Logger): Storage {
  if (config.storage === 'local') return new LocalStorage(path.join(config.dataDir, 'hls'));
  const s3 = config.s3;
  // loadConfig refuses STORAGE=s3 without S3_BUCKET; a hand-made Config might not.
  if (!s3) throw new Error('STORAGE=s3 needs the S3 settings (S3_BUCKET)');
  log.info(
    { bucket: s3.bucket, endpoint: s3.endpoint ?? 'AWS', region: s3.region, prefix: s3.prefix },
    'storage: S3',
  );
  return new S3Storage({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    prefix: s3.prefix,
    backlogBytes: s3.backlogBytes,
    log,
  });
}

/** The upload backlog's figures of a storage that has one (S3), else null. */
export function storageStats(storage: Storage): BacklogStats | null {
  const s = storage as Storage & { stats?: () => BacklogStats };
  return typeof s.stats === 'function' ? s.stats() : null;
}

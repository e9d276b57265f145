import { contentTypeFor, isAssetId, parseKey, isImmutableName } from '../names.js';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { Storage, StoredObject } from './storage.js';
import { UploadQueue, retrying, type BacklogStats, type RetryPolicy } from './upload-queue.js';

export interface S3StorageOptions {
  bucket: string;
  /** Prepended to every key as is: `{prefix}{assetId}/{name}` (so end it with `/`). */
  prefix: string;
  region: string;
  /** minio, s3rver, another S3-compatible store; addressed path-style. Unset: AWS S3. */
  endpoint?: string | undefined;
  /** Unset: the SDK's default chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance roles, ...). */
  credentials?: S3ClientConfig['credentials'];
  log: Logger;
  /** Bodies admitted to the upload backlog at once. @defaultValue 64 MiB */
  backlogBytes?: number;
  /** Objects admitted to the upload backlog at once. @defaultValue 256 */
  backlogObjects?: number;
  /** Uploads running at once. @defaultValue 8 */
  concurrency?: number;
  /** Upload retries (reads retry with 3 attempts of the same shape). */
  retry?: Partial<Omit<RetryPolicy, 'retryable'>>;
  /** One request's socket timeout. @defaultValue 10000 */
  requestTimeoutMs?: number;
  /** @defaultValue 10000 */
  fullNoticeMs?: number;
}

/** S3's own words for "try again"; 5xx and network errors are retried besides. */
const TRANSIENT_NAMES = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
/**
 * The SDK turns a thrown value that is not an `Object` of its realm (node's own errors seen
 * from a vm context, as under jest) into a bare `AWS SDK error wrapper for ...` Error: only
 * the message still tells a network failure.
 */
const WRAPPED_NETWORK =
  /^AWS SDK error wrapper for .*\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|TimeoutError|socket hang up)\b/;

/** Worth another try: throttling, 5xx, a request timeout, a connection that failed or broke. */
export function isRetryableS3Error(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
    errors?: unknown;
    message?: unknown;
  };
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && WRAPPED_NETWORK.test(e.message)) return true;
  // Happy-eyeballs connects fail with an AggregateError of the per-address errors.
  return Array.isArray(e.errors) && e.errors.some(isRetryableS3Error);
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: number } } | null;
  // A missing bucket is a misconfiguration, not a missing object: let it surface.
  if (e?.name === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/**
 * Cache-Control stored with each object, for a CDN that points at the bucket directly. It
 * matches the origin's policy (src/api/routes/hls.ts cacheControlFor): init segments,
 * segments and parts are written once under names never reused, so immutable. The bucket
 * cannot tell a live playlist from a VOD one, so every playlist is `no-cache` (right for
 * live; a VOD playlist only costs a revalidation). The origin sets its own headers anyway.
 */
export function s3CacheControl(name: string): string {
  if (isImmutableName(name)) return 'public, max-age=31536000, immutable';
  return 'no-cache';
}

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

/**
 * Storage in an S3 bucket: `{prefix}{assetId}/{name}`. Keys are checked with the same
 * allow-lists as on disk before any request. Writes go through an UploadQueue: a bounded
 * backlog with back-pressure (see upload-queue.ts for the policy), retried with exponential
 * backoff; `put` resolves once the object is in the bucket, so the packager's rule "a
 * playlist only after every part it lists" holds as it does on disk. The origin reads
 * objects back through `get` (it proxies from the bucket).
 */
export class S3Storage implements Storage {
  readonly bucket: string;
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #queue: UploadQueue;
  readonly #log: Logger;
  readonly #readRetry: RetryPolicy;
  #closing: Promise<void> | null = null;

  constructor(o: S3StorageOptions) {
    this.bucket = o.bucket;
    this.prefix = o.prefix;
    this.#log = o.log.child({ component: 's3-storage', bucket: o.bucket });
    this.#client = new S3Client({
      region: o.region,
      ...(o.endpoint
        ? {
            endpoint: o.endpoint,
            // minio and s3rver serve buckets under the path, not as virtual hosts.
            forcePathStyle: true,
            // Many S3-compatible stores reject the SDK's default flexible checksums.
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }
        : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
      // Retries are ours (counted, bounded, with backoff), not the SDK's.
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 3000, requestTimeout: o.requestTimeoutMs ?? 10_000 },
    });
    const shape = {
      attempts: o.retry?.attempts ?? 5,
      baseDelayMs: o.retry?.baseDelayMs ?? 100,
      maxDelayMs: o.retry?.maxDelayMs ?? 2000,
      retryable: isRetryableS3Error,
    };
    this.#readRetry = { ...shape, attempts: Math.min(shape.attempts, 3) };
    const maxBytes = o.backlogBytes ?? 64 * 1024 * 1024;
    const maxObjects = o.backlogObjects ?? 256;
    this.#queue = new UploadQueue({
      maxBytes,
      maxObjects,
      concurrency: o.concurrency ?? 8,
      retry: shape,
      ...(o.fullNoticeMs === undefined ? {} : { fullNoticeMs: o.fullNoticeMs }),
      onFull: (s) =>
        this.#log.warn(
          { ...s, maxBytes, maxObjects },
          'S3 upload backlog full: writes wait for room, the packager slows down and live streams fall behind',
        ),
    });
  }

  /** The object key of a storage key. */
  objectKey(assetId: string, name: string): string {
    return `${this.prefix}${assetId}/${name}`;
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    const k = parseKey(key);
    if (!k) throw new AppError('bad_request', `invalid storage key ${JSON.stringify(key)}`);
    const Key = this.objectKey(k.assetId, k.name);
    try {
      await this.#queue.submit(Key, body.byteLength, async () => {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key,
            Body: body,
            ContentLength: body.byteLength,
            ContentType: contentType || contentTypeFor(k.name),
            CacheControl: s3CacheControl(k.name),
          }),
        );
      });
    } catch (e) {
      if (e instanceof AppError) throw e;
      this.#log.warn({ key: Key, err: errorMessage(e) }, 'S3 upload failed');
      throw new AppError('unavailable', `storing ${key} in S3 failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    const k = parseKey(key);
    if (!k) return null;
    try {
      return await retrying(async () => {
        const r = await this.#client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(k.assetId, k.name) }),
        );
        if (!r.Body) return null;
        return {
          body: Buffer.from(await r.Body.transformToByteArray()),
          contentType: r.ContentType ?? contentTypeFor(k.name),
          modified: r.LastModified ?? new Date(),
        };
      }, this.#readRetry);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw new AppError('unavailable', `reading ${key} from S3 failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  async delete(key: string): Promise<void> {
    const k = parseKey(key);
    if (!k) return;
    try {
      // S3 answers 204 for a key that does not exist: no special case.
      await retrying(
        () =>
          this.#client.send(
            new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(k.assetId, k.name) }),
          ),
        this.#readRetry,
      );
    } catch (e) {
      throw new AppError('unavailable', `deleting ${key} from S3 failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  async deleteAsset(assetId: string): Promise<void> {
    if (!isAssetId(assetId)) throw new AppError('bad_request', `invalid asset id ${JSON.stringify(assetId)}`);
    // The trailing slash keeps asset `cam1` from matching `cam10/...`.
    const Prefix = `${this.prefix}${assetId}/`;
    try {
      let token: string | undefined;
      do {
        const page = await retrying(
          () =>
            this.#client.send(
              new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken: token }),
            ),
          this.#readRetry,
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        for (let i = 0; i < keys.length; i += DELETE_BATCH) {
          const r = await retrying(
            () =>
              this.#client.send(
                new DeleteObjectsCommand({
                  Bucket: this.bucket,
                  Delete: { Objects: keys.slice(i, i + DELETE_BATCH), Quiet: true },
                }),
              ),
            this.#readRetry,
          );
          const failed = r.Errors ?? [];
          if (failed.length > 0) {
            throw new Error(
              `${failed.length} objects not deleted, first ${failed[0]?.Key}: ${failed[0]?.Code}`,
            );
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw new AppError('unavailable', `deleting ${assetId} from S3 failed: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  }

  /** The upload backlog's figures (whipcast_storage_* on /metrics). */
  stats(): BacklogStats {
    return this.#queue.stats();
  }

  /** Waits for the uploads already submitted (bounded by the retry policy), then closes the client. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#queue.close();
      } finally {
        this.#client.destroy();
      }
    })();
    return this.#closing;
  }
}

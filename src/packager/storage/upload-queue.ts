import { AppError } from '../../core/errors.js';

/**
 * The bounded backlog in front of a slow object store (S3Storage), pure apart from timers:
 * the uploader is a function, so tests drive it with a fake.
 *
 * Policy when the backlog is full: **back-pressure**. `submit` waits for room before its
 * object is admitted, and resolves only once the object is stored. Nothing is ever dropped:
 * the packager already awaits every part before it publishes or writes a playlist that lists
 * it, so a slow store slows the packager (and, through its pipes, ffmpeg) instead of growing
 * memory or losing a part a playlist may name. The cost is latency: a live stream whose store
 * cannot keep up falls behind the live edge, and `onFull` says so.
 *
 * Memory: at most `maxBytes` of bodies are admitted at once (an object larger than that is
 * admitted alone, when the backlog is empty, so it cannot wait forever). Callers that wait
 * for room are blocked, so they produce nothing more meanwhile.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. @defaultValue 5 */
  attempts: number;
  /** Wait before the first retry; doubled for each later one. @defaultValue 100 */
  baseDelayMs: number;
  /** Cap on one wait. @defaultValue 2000 */
  maxDelayMs: number;
  /** Whether an error is worth another try (5xx, throttling, network). */
  retryable(err: unknown): boolean;
}

export interface UploadQueueOptions {
  /** Bytes admitted at once (queued + uploading). */
  maxBytes: number;
  /** Objects admitted at once (queued + uploading). */
  maxObjects: number;
  /** Uploads running at once. */
  concurrency: number;
  retry: RetryPolicy;
  /** A submit found the backlog full; called at most once per `fullNoticeMs`. */
  onFull?(stats: BacklogStats): void;
  /** @defaultValue 10000 */
  fullNoticeMs?: number;
  /** Clock, epoch ms. @defaultValue Date.now */
  now?(): number;
  /** @defaultValue setTimeout */
  sleep?(ms: number): Promise<void>;
  /** In [0, 1). @defaultValue Math.random */
  random?(): number;
}

/** What the backlog holds and has done, for /metrics and logs. */
export interface BacklogStats {
  /** Bytes admitted and not yet stored (queued + uploading). */
  backlogBytes: number;
  backlogObjects: number;
  /** Submits waiting for room (not counted above). */
  waiting: number;
  uploading: number;
  uploaded: number;
  /** Objects given up on: a non-retryable error, or every attempt failed. */
  uploadFailures: number;
  /** Attempts after a first failure, over all objects. */
  retries: number;
  /** Submits that found the backlog full. */
  fullEvents: number;
}

/** Exponential backoff with jitter: attempt 1 failed → about baseDelayMs, then doubling, capped. */
export function backoffMs(failedAttempt: number, p: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  // Half fixed, half random: spreads retries of many uploads that failed together.
  return Math.round(exp / 2 + (exp / 2) * random());
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, an error is not retryable, or `attempts` tries failed; throws
 * the last error. `onRetry` is told before each wait.
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  p: RetryPolicy,
  o: {
    onRetry?(err: unknown, attempt: number): void;
    sleep?(ms: number): Promise<void>;
    random?(): number;
  } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= p.attempts || !p.retryable(err)) throw err;
      o.onRetry?.(err, attempt);
      await (o.sleep ?? defaultSleep)(backoffMs(attempt, p, o.random));
    }
  }
}

interface Job {
  key: string;
  bytes: number;
  upload: () => Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class UploadQueue {
  readonly #o: UploadQueueOptions;
  /** Submits waiting for room, first come first admitted. */
  readonly #waiting: Job[] = [];
  /** Admitted, waiting for an upload slot. */
  readonly #ready: Job[] = [];
  /** The last admitted-or-waiting upload of each key: a later put of the key starts after it. */
  readonly #lastOfKey = new Map<string, Promise<void>>();
  readonly #idle = new Set<() => void>();
  #bytes = 0;
  #objects = 0;
  #uploading = 0;
  #uploaded = 0;
  #failures = 0;
  #retries = 0;
  #fullEvents = 0;
  #lastNotice = Number.NEGATIVE_INFINITY;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(o: UploadQueueOptions) {
    if (!(o.maxBytes > 0 && o.maxObjects >= 1 && o.concurrency >= 1)) {
      throw new RangeError('maxBytes, maxObjects and concurrency must be positive');
    }
    this.#o = o;
  }

  /**
   * Stores one object through `upload` (retried per the policy). Waits for room when the
   * backlog is full; resolves once stored; rejects with the upload's last error. Two submits
   * of one key upload in call order, so an older playlist never lands over a newer one.
   */
  submit(key: string, bytes: number, upload: () => Promise<void>): Promise<void> {
    if (this.#closed) return Promise.reject(new AppError('unavailable', 'storage is closed'));
    const before = this.#lastOfKey.get(key);
    const done = (async () => {
      if (before) await before.catch(() => undefined);
      await new Promise<void>((resolve, reject) => this.#admit({ key, bytes, upload, resolve, reject }));
    })();
    const settled = done.catch(() => undefined);
    this.#lastOfKey.set(key, settled);
    void settled.then(() => {
      if (this.#lastOfKey.get(key) === settled) this.#lastOfKey.delete(key);
    });
    return done;
  }

  stats(): BacklogStats {
    return {
      backlogBytes: this.#bytes,
      backlogObjects: this.#objects,
      waiting: this.#waiting.length,
      uploading: this.#uploading,
      uploaded: this.#uploaded,
      uploadFailures: this.#failures,
      retries: this.#retries,
      fullEvents: this.#fullEvents,
    };
  }

  /**
   * Refuses new submits and resolves once everything submitted before is stored or failed
   * (bounded by the retry policy). Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#whenIdle();
    return this.#closing;
  }

  #whenIdle(): Promise<void> {
    const idle = () => this.#objects === 0 && this.#waiting.length === 0 && this.#lastOfKey.size === 0;
    if (idle()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!idle()) return;
        this.#idle.delete(check);
        resolve();
      };
      this.#idle.add(check);
    });
  }

  #fits(bytes: number): boolean {
    if (this.#objects === 0) return true; // an oversized object goes alone
    return this.#objects + 1 <= this.#o.maxObjects && this.#bytes + bytes <= this.#o.maxBytes;
  }

  #admit(job: Job): void {
    // First come, first admitted: a small object does not overtake a big one that waits.
    if (this.#waiting.length === 0 && this.#fits(job.bytes)) {
      this.#take(job);
      return;
    }
    this.#waiting.push(job);
    this.#fullEvents++;
    const now = (this.#o.now ?? Date.now)();
    if (now - this.#lastNotice >= (this.#o.fullNoticeMs ?? 10_000)) {
      this.#lastNotice = now;
      this.#o.onFull?.(this.stats());
    }
  }

  #take(job: Job): void {
    this.#bytes += job.bytes;
    this.#objects++;
    this.#ready.push(job);
    this.#pump();
  }

  #pump(): void {
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes))
      this.#take(this.#waiting.shift()!);
    while (this.#uploading < this.#o.concurrency && this.#ready.length > 0)
      void this.#run(this.#ready.shift()!);
  }

  async #run(job: Job): Promise<void> {
    this.#uploading++;
    try {
      await retrying(job.upload, this.#o.retry, {
        onRetry: () => this.#retries++,
        ...(this.#o.sleep ? { sleep: this.#o.sleep } : {}),
        ...(this.#o.random ? { random: this.#o.random } : {}),
      });
      this.#uploaded++;
      job.resolve();
    } catch (err) {
      this.#failures++;
      job.reject(err);
    } finally {
      this.#uploading--;
      this.#bytes -= job.bytes;
      this.#objects--;
      this.#pump();
      // After the submit's own continuation has run (and cleared its key), check for idle.
      setImmediate(() => {
        for (const check of [...this.#idle]) check();
      });
    }
  }
}

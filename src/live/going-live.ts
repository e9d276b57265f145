import { randomBytes } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { errorMessage } from '../core/errors.js';
import type { LiveJobData } from '../core/jobs.js';
import type { Logger } from '../core/log.js';
import type { Preset } from '../core/preset.js';
import type { MediaRelay } from './relay/relay.js';
import type { LiveStream } from './stream.js';
import type { LiveStreams } from './streams.js';

export interface GoingLiveOptions {
  streams: LiveStreams;
  relay: MediaRelay;
  /** The queue of live transcode jobs. */
  jobs: {
    enqueueLive(data: LiveJobData): Promise<unknown>;
    /** Removes the stream's live job if no worker has taken it yet; true when it did. */
    withdrawLive(streamId: string): Promise<boolean>;
  };
  presets: { get(id: string): Promise<{ preset: Preset }> };
  /** The preset of a publish that names none. */
  defaultPresetId: string;
  /** Where workers reach this process (PUBLIC_URL, or the address it listens on). */
  baseUrl: () => string;
  log: Logger;
  /** The longest wait between two tries to queue a job. @defaultValue 3000 */
  retryMaxMs?: number;
}

/**
 * A stream that goes live gets its transcode: a relay token for it, and a live job (job id
 * = stream id) that tells a worker where to read the stream and with which preset. The
 * job is queued at the stream's first frame, not at the POST (an offer that never
 * connects queues nothing), queued again when a takeover names another preset (the
 * running job switches to it at the new session), and withdrawn if the stream ends before
 * a worker took it.
 */
export class GoingLive {
  readonly #o: GoingLiveOptions;
  /** One relay token per stream for this process's life: a takeover keeps the running job's token valid. */
  readonly #tokens = new Map<string, string>();
  readonly #off: () => void;
  /** Queueings still trying, per stream. */
  readonly #queueing = new Map<string, AbortController>();
  /** Withdrawals of ended streams' jobs still under way. */
  readonly #withdrawals = new Set<Promise<unknown>>();
  #closed = false;

  constructor(o: GoingLiveOptions) {
    this.#o = o;
    this.#off = o.streams.onLive((s) => this.#follow(s));
  }

  /** Queues the stream's job at its first frame, and again when a takeover changes the preset. */
  #follow(stream: LiveStream): void {
    let queuedPreset: string | undefined | null = null;
    let offFrame: () => void = () => undefined;
    stream.addReader({
      attach: (source) => {
        offFrame();
        if (queuedPreset !== null) {
          // Queued already: a takeover that names another preset switches the job now,
          // before the new session's first key frame reaches the worker.
          if (queuedPreset !== stream.presetId) {
            queuedPreset = stream.presetId;
            void this.#start(stream.id, stream.presetId);
          }
          return;
        }
        offFrame = source.onFrame(() => {
          offFrame();
          queuedPreset = stream.presetId;
          void this.#start(stream.id, stream.presetId);
        });
      },
      streamEnded: () => {
        offFrame();
        this.#queueing.get(stream.id)?.abort();
        if (queuedPreset === null) return;
        const withdrawal = this.#o.jobs.withdrawLive(stream.id).then(
          (gone) =>
            gone &&
            this.#o.log.info({ streamId: stream.id }, 'stream ended before a worker took it: job withdrawn'),
          (err: unknown) =>
            this.#o.log.warn(
              { streamId: stream.id, err: errorMessage(err) },
              'could not withdraw the live job',
            ),
        );
        // A shutdown ends every stream: its queue connection must outlive these.
        this.#withdrawals.add(withdrawal);
        void withdrawal.finally(() => this.#withdrawals.delete(withdrawal));
      },
    });
  }

  /**
   * Queues the stream's live job, again and again while the queue's Redis cannot take it
   * (down, restarting): a stream that went live during an outage is transcoded once Redis
   * is back, not never. A newer queueing (a takeover's preset) or the stream's end stops it.
   */
  async #start(streamId: string, presetId: string | undefined): Promise<void> {
    this.#queueing.get(streamId)?.abort();
    const attempt = new AbortController();
    this.#queueing.set(streamId, attempt);
    const log = this.#o.log.child({ streamId });
    const since = Date.now();
    let failures = 0;
    try {
      while (!attempt.signal.aborted && !this.#closed) {
        try {
          await this.#enqueue(streamId, presetId, log);
          if (failures > 0) {
            log.info(
              { afterSeconds: Math.round((Date.now() - since) / 100) / 10 },
              'live transcode queued after the queue came back',
            );
          }
          return;
        } catch (e) {
          if (failures++ === 0) {
            log.error(
              { err: errorMessage(e) },
              'could not queue the live transcode: retrying until it is queued',
            );
          }
          await setTimeout(Math.min(500 * failures, this.#o.retryMaxMs ?? 3000), undefined, {
            signal: attempt.signal,
          }).catch(() => undefined);
        }
      }
    } finally {
      if (this.#queueing.get(streamId) === attempt) this.#queueing.delete(streamId);
    }
  }

  async #enqueue(streamId: string, presetId: string | undefined, log: Logger): Promise<void> {
    const id = presetId ?? this.#o.defaultPresetId;
    const { preset } = await this.#o.presets.get(id);
    let token = this.#tokens.get(streamId);
    if (!token) {
      token = randomBytes(24).toString('base64url');
      this.#tokens.set(streamId, token);
    }
    this.#o.relay.authorize(streamId, token);
    await this.#o.jobs.enqueueLive({
      kind: 'live',
      streamId,
      presetId: id,
      preset,
      relay: { url: `${this.#o.baseUrl()}/internal/relay/${streamId}`, token },
      submittedAt: new Date().toISOString(),
    });
    log.info({ presetId: id }, 'live transcode queued');
  }

  /** Resolves when the withdrawals of the jobs of streams that ended so far are done (or failed). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#withdrawals]);
  }

  close(): void {
    this.#closed = true;
    for (const q of this.#queueing.values()) q.abort();
    this.#off();
  }
}

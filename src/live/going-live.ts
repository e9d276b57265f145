import { randomBytes } from 'node:crypto';
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
        if (queuedPreset === null) return;
        void this.#o.jobs.withdrawLive(stream.id).then(
          (gone) =>
            gone &&
            this.#o.log.info({ streamId: stream.id }, 'stream ended before a worker took it: job withdrawn'),
          (err: unknown) =>
            this.#o.log.warn(
              { streamId: stream.id, err: errorMessage(err) },
              'could not withdraw the live job',
            ),
        );
      },
    });
  }

  async #start(streamId: string, presetId: string | undefined): Promise<void> {
    const log = this.#o.log.child({ streamId });
    try {
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
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'could not queue the live transcode');
    }
  }

  close(): void {
    this.#off();
  }
}

import { randomBytes } from 'node:crypto';
import { errorMessage } from '../core/errors.js';
import type { LiveJobData } from '../core/jobs.js';
import type { Logger } from '../core/log.js';
import type { Preset } from '../core/preset.js';
import type { MediaRelay } from './relay/relay.js';
import type { LiveStreams } from './streams.js';

export interface GoingLiveOptions {
  streams: LiveStreams;
  relay: MediaRelay;
  /** The queue of live transcode jobs. */
  jobs: { enqueueLive(data: LiveJobData): Promise<unknown> };
  presets: { get(id: string): Promise<{ preset: Preset }> };
  /** The preset of a publish that names none. */
  defaultPresetId: string;
  /** Where workers reach this process (PUBLIC_URL, or the address it listens on). */
  baseUrl: () => string;
  log: Logger;
}

/**
 * A stream that goes live gets its transcode: a relay token for it, and a live job (job id
 * = stream id) that tells a worker where to read the stream and with which preset.
 */
export class GoingLive {
  readonly #o: GoingLiveOptions;
  /** One relay token per stream for this process's life: a takeover keeps the running job's token valid. */
  readonly #tokens = new Map<string, string>();
  readonly #off: () => void;

  constructor(o: GoingLiveOptions) {
    this.#o = o;
    this.#off = o.streams.onLive((s) => void this.#start(s.id, s.presetId));
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

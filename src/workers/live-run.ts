import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { AppError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { LivePackagerRun } from '../packager/index.js';
import { FfmpegError, FfmpegProcess } from './ffmpeg/process.js';
import type { FfmpegProgress } from './ffmpeg/progress.js';
import { isShutdown } from './shutdown.js';

export interface LiveRunOptions {
  ffmpegPath: string;
  /** From buildFfmpegArgs with input `pipe:0` and firstOutputFd 3. */
  args: readonly string[];
  /** Rendition names in ffmpeg output order (fd 3, 4, ...). */
  outputs: readonly string[];
  /** The relay body: piped into ffmpeg's stdin, destroyed when the run is over. */
  body: IncomingMessage;
  run: LivePackagerRun;
  signal: AbortSignal;
  /** Aborted when the run cannot keep up: ffmpeg is stopped after what it has, for a lighter one. */
  tooSlow?: AbortSignal;
  log: Logger;
  onProgress: (p: FfmpegProgress) => void;
}

export type LiveRunOutcome =
  /** The relay body ended (the session ended) and ffmpeg finished what it had. */
  | { type: 'input_ended' }
  /** The relay connection broke mid-body; ffmpeg was stopped after what it had. */
  | { type: 'relay_lost'; error: Error }
  /** ffmpeg died (or quit) while its input was still coming. */
  | { type: 'ffmpeg_crashed'; error: Error }
  /** The run fell behind real time and was stopped (`tooSlow`) to restart lighter. */
  | { type: 'too_slow' };

/**
 * One ffmpeg over one relay body, its outputs into one packager run. Resolves with how
 * it ended; rejects when retrying cannot help this run's way (ffmpeg could not start,
 * the packager failed) or when `signal` aborted: on cancel ffmpeg is killed and its
 * outputs discarded; on worker shutdown its input ends, so it flushes the frames it has
 * into the packager (bounded by FfmpegProcess's stop timeout) before the job is handed
 * back. Leaves nothing running either way.
 */
export async function runLive(o: LiveRunOptions): Promise<LiveRunOutcome> {
  let bodyEnded = false;
  let relayError: Error | null = null;
  o.body.once('end', () => (bodyEnded = true));

  // Only a cancel kills ffmpeg outright; a shutdown stops it gracefully (see below).
  const kill = new AbortController();
  const ffmpeg = new FfmpegProcess({
    bin: o.ffmpegPath,
    args: o.args,
    outputCount: o.outputs.length,
    input: o.body,
    signal: kill.signal,
    log: o.log,
    onProgress: o.onProgress,
  });
  const onAbort = () => {
    if (isShutdown(o.signal.reason)) {
      o.log.info('worker shutting down: letting ffmpeg flush before handing the job back');
      void ffmpeg.stop();
    } else {
      kill.abort(o.signal.reason);
    }
  };
  if (o.signal.aborted) onAbort();
  else o.signal.addEventListener('abort', onAbort, { once: true });
  let slow = false;
  const onSlow = () => {
    slow = true;
    // What ffmpeg has read still becomes fragments; the next run starts at a key frame.
    void ffmpeg.stop();
  };
  o.tooSlow?.addEventListener('abort', onSlow, { once: true });
  o.body.on('error', (e) => {
    if (o.signal.aborted) return;
    relayError = e;
    // What ffmpeg has read so far still becomes fragments.
    void ffmpeg.stop();
  });
  const startedAt = Date.now();
  const pipes = o.outputs.map((name, i) => {
    const out = ffmpeg.outputs[i];
    if (!out) return Promise.reject(new AppError('internal', `no ffmpeg output for ${name}`));
    // Start-up cost (process, probing, encoder set-up) shows as the time to the first bytes.
    out.once('data', () =>
      o.log.debug({ rendition: name, ms: Date.now() - startedAt }, 'first ffmpeg output'),
    );
    return pipeline(out, o.run.writable(name));
  });
  pipes.forEach((p) => p.catch(() => undefined));

  let exitError: unknown = null;
  try {
    await ffmpeg.wait();
  } catch (e) {
    exitError = e;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    o.tooSlow?.removeEventListener('abort', onSlow);
  }
  // ffmpeg is gone: stop reading the relay (a no-op when the body ended).
  o.body.destroy();
  const piped = await Promise.allSettled(pipes);

  if (o.signal.aborted) throw exitError ?? new AppError('cancelled', 'the live run was aborted');
  if (exitError instanceof FfmpegError && exitError.phase === 'start') throw exitError;
  if (slow) return { type: 'too_slow' };
  if (exitError !== null) {
    return {
      type: 'ffmpeg_crashed',
      error: exitError instanceof Error ? exitError : new Error(String(exitError)),
    };
  }
  const failed = piped.find((p): p is PromiseRejectedResult => p.status === 'rejected');
  if (failed) {
    throw new AppError('internal', `the live packager failed: ${errorMessage(failed.reason)}`, {
      cause: failed.reason,
    });
  }
  if (relayError !== null) return { type: 'relay_lost', error: relayError };
  if (bodyEnded) return { type: 'input_ended' };
  return {
    type: 'ffmpeg_crashed',
    error: new FfmpegError('run', 'ffmpeg exited before its input ended', null, ffmpeg.stderrTail),
  };
}

import type { ChildProcess } from 'node:child_process';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { spawnOwned } from '../../core/child.js';
import { childEnvironment } from '../../core/config.js';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { findExecutable } from './capture.js';
import { ProgressParser, type FfmpegProgress } from './progress.js';

export interface FfmpegProcessOptions {
  /** The ffmpeg binary: a path, or a name looked up on PATH. */
  bin: string;
  /** From buildFfmpegArgs, whose io.firstOutputFd must be 3. */
  args: readonly string[];
  /** Pipes at fds 3, 4, ...; every one must be read, or ffmpeg blocks writing to it. */
  outputCount: number;
  /**
   * Piped into ffmpeg's stdin, for args whose input is `pipe:0` (a live relay body).
   * stdin then carries media, not commands: stop() ends it instead of sending `q`, and
   * ffmpeg finishes its fragments at the end of input. Unpiped (never destroyed) when
   * ffmpeg exits; the caller owns it.
   */
  input?: Readable;
  /** Aborting ends ffmpeg like close(); wait() then rejects with AppError `cancelled`. */
  signal?: AbortSignal;
  /** How long stop() and close() wait after `q` before SIGKILL. @defaultValue 5000 */
  stopTimeoutMs?: number;
  log?: Logger;
  /** Called for each `-progress` block; a throwing listener is logged, not fatal. */
  onProgress?: (p: FfmpegProgress) => void;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** ffmpeg could not be started (`start`: retrying will not help) or died later (`run`). */
export class FfmpegError extends AppError {
  readonly phase: 'start' | 'run';
  readonly exit: FfmpegExit | null;
  /** The last ~4 KiB ffmpeg wrote to stderr. */
  readonly stderrTail: string;

  constructor(phase: 'start' | 'run', message: string, exit: FfmpegExit | null, stderrTail: string) {
    super('ffmpeg_failed', message);
    this.name = 'FfmpegError';
    this.phase = phase;
    this.exit = exit;
    this.stderrTail = stderrTail;
  }
}

const STDERR_TAIL_CHARS = 4096;
const MESSAGE_TAIL_CHARS = 1000;
/** After exit, how long to wait for the last progress and stderr bytes still in the pipes. */
const DRAIN_MS = 2000;
const NO_EXIT: FfmpegExit = { code: null, signal: null };

/**
 * One ffmpeg run, owned: spawned from an argv array with a parent-death signal, output
 * pipes at fds 3.., progress parsed from stdout, stderr's tail kept for the error.
 *
 * - `wait()` resolves on a clean exit or after stop()/close(); it rejects with an
 *   FfmpegError (`ffmpeg_failed`, phase `start` or `run`) or, after an abort, an
 *   AppError `cancelled`. It never rejects unobserved.
 * - `stop()` ends gracefully: `q` on stdin (or, with `input`, the end of stdin) lets
 *   ffmpeg finish its fragments; SIGKILL after stopTimeoutMs. Outputs keep flowing
 *   until ffmpeg closes them.
 * - `close()` is the teardown: outputs are destroyed (what is unread is dropped), then
 *   as stop(). Idempotent: every call returns the same promise.
 */
export class FfmpegProcess {
  readonly outputs: Readable[];
  readonly #child: ChildProcess | null;
  readonly #opts: FfmpegProcessOptions;
  readonly #stopTimeoutMs: number;
  readonly #parser = new ProgressParser();
  readonly #exited: Promise<FfmpegExit>;
  readonly #result: Promise<FfmpegExit>;
  #stderrTail = '';
  #spawnError: Error | null = null;
  #exitSeen = false;
  #deliberate = false;
  #cancelled = false;
  #stopping: Promise<FfmpegExit> | null = null;
  #closing: Promise<FfmpegExit> | null = null;
  #onAbort = (): void => {
    if (this.#exitSeen) return;
    this.#cancelled = true;
    void this.close();
  };

  constructor(opts: FfmpegProcessOptions) {
    if (!Number.isInteger(opts.outputCount) || opts.outputCount < 0 || opts.outputCount > 64) {
      throw new AppError(
        'internal',
        `outputCount must be a whole number from 0 to 64, got ${opts.outputCount}`,
      );
    }
    this.#opts = opts;
    this.#stopTimeoutMs = opts.stopTimeoutMs ?? 5000;

    const startError = opts.signal?.aborted
      ? new AppError('cancelled', 'ffmpeg was cancelled before it started')
      : findExecutable(opts.bin) === null
        ? new FfmpegError(
            'start',
            `ffmpeg could not be started: "${opts.bin}" is not an executable file (set FFMPEG_PATH)`,
            null,
            '',
          )
        : null;
    if (startError !== null) {
      this.#exitSeen = true;
      this.#child = null;
      this.outputs = Array.from({ length: opts.outputCount }, () => Readable.from([]));
      this.#exited = Promise.resolve(NO_EXIT);
      this.#result = Promise.reject(startError);
      this.#result.catch(() => undefined);
      return;
    }

    const child = spawnOwned(opts.bin, opts.args, {
      stdio: ['pipe', 'pipe', 'pipe', ...Array.from({ length: opts.outputCount }, () => 'pipe' as const)],
      // SVT-AV1 logs its banner at info level whatever -loglevel says; keep its warnings.
      env: childEnvironment({ SVT_LOG: '2' }),
    });
    this.#child = child;
    this.outputs = [];
    for (let i = 0; i < opts.outputCount; i++) {
      const out = child.stdio[3 + i];
      if (!(out instanceof Readable)) throw new AppError('internal', `no pipe at fd ${3 + i}`);
      // A consumer's pipeline() sees errors through its own listener; this one keeps an
      // output nobody reads from crashing the process.
      out.on('error', (e) => opts.log?.debug({ fd: 3 + i, err: e.message }, 'ffmpeg output pipe error'));
      this.outputs.push(out);
    }
    // ffmpeg may exit before reading `q` (or the rest of its input): writing then fails
    // with EPIPE, which is fine.
    child.stdin?.on('error', () => undefined);
    if (opts.input && child.stdin) {
      const stdin = child.stdin;
      opts.input.pipe(stdin);
      child.once('exit', () => opts.input?.unpipe(stdin));
    }
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.#progress(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    });
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    opts.log?.debug({ pid: child.pid, args: opts.args }, 'ffmpeg started');

    this.#exited = new Promise<FfmpegExit>((resolve) => {
      child.once('error', (e) => {
        this.#spawnError = e;
        // A failed spawn emits no 'exit'.
        if (child.pid === undefined) void this.#drained().then(() => resolve(NO_EXIT));
      });
      child.once('exit', (code, signal) => {
        this.#exitSeen = true;
        void this.#drained().then(() => resolve({ code, signal }));
      });
    });
    this.#result = this.#exited.then((exit) => this.#settle(exit));
    this.#result.catch(() => undefined);
  }

  /** The ffmpeg process id (setpriv execs ffmpeg in place, so it is ffmpeg's own). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The last ~4 KiB of stderr so far. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  wait(): Promise<FfmpegExit> {
    return this.#result;
  }

  stop(): Promise<FfmpegExit> {
    this.#markDeliberate();
    this.#stopping ??= this.#shutdown(false);
    return this.#stopping;
  }

  close(): Promise<FfmpegExit> {
    this.#markDeliberate();
    this.#closing ??= this.#shutdown(true);
    return this.#closing;
  }

  /** A stop asked for after ffmpeg already died must not turn its failure into success. */
  #markDeliberate(): void {
    if (!this.#exitSeen) this.#deliberate = true;
  }

  async #shutdown(discardOutputs: boolean): Promise<FfmpegExit> {
    const child = this.#child;
    let timer: NodeJS.Timeout | undefined;
    if (child !== null && !this.#exitSeen) {
      if (discardOutputs) for (const out of this.outputs) out.destroy();
      if (this.#opts.input && child.stdin) {
        // End of input: ffmpeg drains what it has read and closes its outputs.
        this.#opts.input.unpipe(child.stdin);
        child.stdin.end();
      } else {
        child.stdin?.write('q');
      }
      timer = setTimeout(() => child.kill('SIGKILL'), this.#stopTimeoutMs);
    }
    try {
      return await this.#exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits (bounded) until stdout and stderr are read to the end. */
  async #drained(): Promise<void> {
    const child = this.#child;
    const streams = [child?.stdout, child?.stderr].filter((s) => s != null);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(streams.map((s) => finished(s))),
      new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS))),
    ]);
    clearTimeout(timer);
  }

  #settle(exit: FfmpegExit): FfmpegExit {
    this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#opts.log?.debug({ pid: this.pid, ...exit }, 'ffmpeg exited');
    const tail = this.#stderrTail;
    const spawnError = this.#spawnError;
    // setpriv reports an exec failure as exit 126/127 with its own message.
    const execFailed = (exit.code === 126 || exit.code === 127) && /^setpriv: /m.test(tail);
    if (spawnError !== null || execFailed) {
      const why = spawnError?.message ?? lastLines(tail);
      throw new FfmpegError('start', `ffmpeg could not be started: ${why}`, exit, tail);
    }
    if (this.#cancelled) throw new AppError('cancelled', 'ffmpeg was cancelled');
    if (this.#deliberate || exit.code === 0) return exit;
    const how = exit.code !== null ? `code ${exit.code}` : `signal ${exit.signal ?? 'unknown'}`;
    const detail = lastLines(tail);
    throw new FfmpegError('run', `ffmpeg exited with ${how}${detail ? `: ${detail}` : ''}`, exit, tail);
  }

  #progress(chunk: string): void {
    for (const p of this.#parser.push(chunk)) {
      try {
        this.#opts.onProgress?.(p);
      } catch (e) {
        this.#opts.log?.error({ err: e }, 'ffmpeg progress listener threw');
      }
    }
  }
}

function lastLines(text: string): string {
  return text.trim().slice(-MESSAGE_TAIL_CHARS).trim();
}

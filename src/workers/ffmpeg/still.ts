import { Readable } from 'node:stream';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { FfmpegProcess } from './process.js';

export interface StillOptions {
  ffmpegPath: string;
  /** From args-thumbnails.ts: stdin in, one JPEG per output fd from 3 on. */
  args: readonly string[];
  outputCount: number;
  /** What ffmpeg reads on stdin (fragmented MP4). */
  input: Iterable<Buffer> | AsyncIterable<Buffer>;
  /** ffmpeg is killed after this long; the run then fails with `cancelled`. */
  timeoutMs: number;
  /** Aborts the run (job cancelled, service closing). */
  signal?: AbortSignal;
  /** One output larger than this fails the run (a JPEG of a small picture is tens of KB). */
  maxBytes?: number;
  log?: Logger;
}

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * One short ffmpeg run that turns media on stdin into pictures on fds 3.., owned by an
 * FfmpegProcess (argv array, parent-death signal, idempotent close) and killed at
 * `timeoutMs` or on `signal`. Resolves with each output's bytes; an empty output (no
 * frame was selected) is an error, so callers never store an empty picture.
 */
export async function runStill(o: StillOptions): Promise<Buffer[]> {
  const signals = [
    AbortSignal.timeout(Math.max(1, Math.round(o.timeoutMs))),
    ...(o.signal ? [o.signal] : []),
  ];
  const input = Readable.from(o.input, { objectMode: false });
  // ffmpeg may stop reading once it has its frames: what is left of the input goes unread.
  input.on('error', () => undefined);
  const ffmpeg = new FfmpegProcess({
    bin: o.ffmpegPath,
    args: o.args,
    outputCount: o.outputCount,
    input,
    signal: AbortSignal.any(signals),
    stopTimeoutMs: 1000,
    ...(o.log ? { log: o.log } : {}),
  });
  const max = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const read = (out: Readable, i: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      out.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          void ffmpeg.close();
          reject(new AppError('internal', `picture ${i} is larger than ${max} bytes`));
        } else chunks.push(c);
      });
      out.once('end', () => resolve(Buffer.concat(chunks)));
      out.once('error', reject);
    });
  try {
    const [pictures] = await Promise.all([Promise.all(ffmpeg.outputs.map(read)), ffmpeg.wait()]);
    pictures.forEach((p, i) => {
      if (p.length === 0) throw new AppError('internal', `ffmpeg wrote no picture on fd ${3 + i}`);
    });
    return pictures;
  } catch (e) {
    await ffmpeg.close();
    if (e instanceof AppError && e.code === 'cancelled' && !o.signal?.aborted) {
      throw new AppError('unavailable', `ffmpeg took longer than ${o.timeoutMs} ms for a picture`);
    }
    throw e;
  } finally {
    input.destroy();
  }
}

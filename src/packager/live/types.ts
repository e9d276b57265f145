import type { Writable } from 'node:stream';
import type { Logger } from '../../core/log.js';
import type { RenditionSpec } from '../rendition.js';

/**
 * The seam between the live worker (src/workers/live-job.ts) and the live LL-HLS
 * packager. The worker runs one ffmpeg per "run" (one relay body: a publish session,
 * or what is left of one after ffmpeg restarted) and pipes each rendition's fragmented
 * MP4 (ftyp + moov, then moof/mdat pairs, as buildFfmpegArgs writes it) into
 * `run.writable(name)`.
 *
 * What the worker does, which the packager may rely on:
 * - One packager per live job attempt, built by the factory when the job has learned
 *   the stream's tracks (its first relay answer). Another attempt, or another worker
 *   after a handover, builds a new one for the same streamId: it continues the stream's
 *   playlists (after a discontinuity) rather than starting them over.
 * - Runs are sequential: startRun() is called only after every writable of the previous
 *   run has ended (or been destroyed).
 * - A run's writables start with an init segment. The worker takes writable(name) for
 *   every video rung and, when that run's ffmpeg has an audio output, for `audio`; a
 *   run whose session has no audio leaves `audio` untaken.
 * - A writable that ends (`final`) ends the run's input for that rendition: ffmpeg
 *   exited, cleanly or not (a crash may leave a truncated last box, which should be
 *   dropped, not fail the packager). One that is destroyed means the run was aborted.
 * - end() may be called without any startRun() in this process: the stream ended while
 *   the job was between workers. It then ends the playlists a previous run left open
 *   and writes nothing else.
 * - close() always comes last, after end() or instead of it (the worker is shutting
 *   down or the job was lost; another worker will continue).
 */
export interface LivePackagerRun {
  writable(rendition: string): Writable;
}

export interface LivePackagerLike {
  /**
   * Starts one ffmpeg run's input; a run after the first begins with EXT-X-DISCONTINUITY.
   * epochMs anchors PROGRAM-DATE-TIME: wall clock of media time 0 of this run.
   * `renditions`: the run's ladder when it differs from the one before (a re-plan).
   */
  startRun(epochMs: number, renditions?: RenditionSpec[]): LivePackagerRun;
  /** The stream ended: EXT-X-ENDLIST on every playlist. */
  end(): Promise<void>;
  close(): Promise<void>;
}

/** What one live packager is made for: a stream, its ladder and its HLS timing. */
export interface LivePackagerArgs {
  streamId: string;
  renditions: RenditionSpec[];
  partSeconds: number;
  segmentSeconds: number;
  /** A run's first segment is this long (the preset's GOP). @defaultValue segmentSeconds */
  firstSegmentSeconds?: number;
  /**
   * The key frame interval of a ladder the worker encodes: video parts then hold
   * partFrames() frames (core/part-frames.ts), as the worker's ffmpeg cuts them. Absent
   * for copied layers, whose GOP is the publisher's.
   */
  gopSeconds?: number;
  log: Logger;
}

export type LivePackagerFactory = (o: LivePackagerArgs) => LivePackagerLike;

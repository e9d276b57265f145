import type { EncoderFamily } from '../../core/preset.js';

/** What the worker decided about one ffmpeg run; the argument builder adds nothing beyond it. */
export interface FfmpegIo {
  /**
   * The one input: an absolute file path the worker chose, or (live) `pipe:0` (the worker
   * writes the relay's body to stdin) or the relay's `tcp://HOST:PORT` or
   * `http://HOST:PORT/path` URL. Anything else is refused, so a file name can never be
   * read by ffmpeg as a protocol (`concat:`, `http:`) or an option.
   */
  input: string;
  /** Live input: container format given by the relay (never probed), low-delay flags. */
  live: { format: 'mpegts' | 'matroska' } | null;
  /** Whether the input has an audio stream to transcode into the audio rendition. */
  hasAudio: boolean;
  /**
   * Outputs are pipes: video rung i is written to fd `firstOutputFd + i`, the audio
   * rendition (if hasAudio) to fd `firstOutputFd + ladder.length`. Progress goes to fd 1.
   * At least 3 (0 to 2 are stdin, progress and stderr).
   */
  firstOutputFd: number;
  /**
   * Live with audio, when the preset's audio is not Opus: one more output, Opus for WHEP
   * viewers of the ladder (WHEP_AUDIO_RENDITION), on fd `firstOutputFd + ladder.length + 1`.
   */
  whepAudio?: boolean;
  /** VA-API render node, when family is vaapi (default /dev/dri/renderD128). */
  vaapiDevice?: string;
}

export type { EncoderFamily };

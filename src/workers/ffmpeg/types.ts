import type { EncoderFamily } from '../../core/preset.js';

/** What the worker decided about one ffmpeg run; the argument builder adds nothing beyond it. */
export interface FfmpegIo {
  /** The one input: an absolute file path the worker chose, or (live) a tcp://127.0.0.1:PORT URL. */
  input: string;
  /** Live input: read at native rate, low-delay flags, container format given by the relay. */
  live: { format: 'mpegts' | 'matroska' } | null;
  /** Whether the input has an audio stream to transcode into the audio rendition. */
  hasAudio: boolean;
  /**
   * Outputs are pipes: video rung i is written to fd `firstOutputFd + i`, the audio
   * rendition (if hasAudio) to fd `firstOutputFd + ladder.length`. Progress goes to fd 1.
   */
  firstOutputFd: number;
  /** VA-API render node, when family is vaapi (default /dev/dri/renderD128). */
  vaapiDevice?: string;
}

export type { EncoderFamily };

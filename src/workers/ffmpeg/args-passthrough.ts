import { AppError } from '../../core/errors.js';
import type { Preset } from '../../core/preset.js';
import { audioChain, audioOptions, checkIo, inputOptions, muxOptions, whepAudioOutput } from './args.js';
import type { FfmpegIo } from './types.js';

/** The most layers a passthrough body carries (ingest takes up to 4 rids). */
const MAX_TRACKS = 8;

/**
 * The ffmpeg argument list for a passthrough run: each video track of the relay's body
 * (one per simulcast layer, largest first) copied as it is (`-c:v copy`: no decode, no
 * encode) into its own fragmented-MP4 pipe, and the audio transcoded (Opus to the
 * preset's audio) into the last one. Pure, like buildFfmpegArgs: the track count is a
 * checked number, everything else comes from the validated preset and `io`.
 *
 * The copied tracks keep the publisher's key frames, which the relay started aligned at
 * media time 0 in every track; fragments end at those key frames and every
 * `partSeconds` (muxOptions), so each rendition's parts and segments begin at the same
 * media times as the others' whenever the layers' key frames share their instants.
 */
export function buildPassthroughArgs(videoTracks: number, preset: Preset, io: FfmpegIo): string[] {
  if (!Number.isInteger(videoTracks) || videoTracks < 1 || videoTracks > MAX_TRACKS) {
    throw new AppError(
      'internal',
      `a passthrough run needs 1 to ${MAX_TRACKS} video tracks, got ${videoTracks}`,
    );
  }
  if (io.live === null || io.live.format !== 'matroska') {
    throw new AppError('internal', 'passthrough reads the live relay (Matroska) only');
  }
  checkIo(io);
  const tracks = Array.from({ length: videoTracks }, (_, i) => i);
  return [
    ...['-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1'],
    ...inputOptions(io),
    ...['-i', io.input],
    ...(io.hasAudio ? ['-filter_complex', audioChain(preset, io)] : []),
    ...tracks.flatMap((i) => [
      ...['-map', `0:v:${i}`, '-c:v', 'copy'],
      ...muxOptions(preset),
      `pipe:${io.firstOutputFd + i}`,
    ]),
    ...(io.hasAudio
      ? [
          ...['-map', '[a]'],
          ...audioOptions(preset),
          ...muxOptions(preset),
          `pipe:${io.firstOutputFd + videoTracks}`,
        ]
      : []),
    ...whepAudioOutput(preset, io, io.firstOutputFd + videoTracks + 1),
  ];
}

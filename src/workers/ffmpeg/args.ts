import { AppError } from '../../core/errors.js';
import { fragSeconds, framesIn, partFrames } from '../../core/part-frames.js';
import {
  rungBufsizeKbps,
  rungMaxrateKbps,
  type EncoderFamily,
  type Preset,
  type Rung,
} from '../../core/preset.js';
import { kbps, type FamilyArgs } from './args-family.js';
import { nvencArgs } from './args-nvenc.js';
import { qsvArgs } from './args-qsv.js';
import { vaapiArgs } from './args-vaapi.js';
import { x264Args } from './args-x264.js';
import type { FfmpegIo } from './types.js';

const FAMILIES: Record<EncoderFamily, FamilyArgs> = {
  x264: x264Args,
  nvenc: nvencArgs,
  vaapi: vaapiArgs,
  qsv: qsvArgs,
};

/**
 * Fragmented MP4 on a pipe, measured with ffmpeg 5.1: ftyp, moov, then only moof/mdat
 * pairs, one track per stream. `cmaf` adds the cmfc brand (and trun v1; with -bf 0 every
 * composition offset is 0, so a sample's PTS is its DTS); `delay_moov` waits for the
 * first packet so Opus/AAC priming (negative DTS) does not meet an already written moov;
 * `skip_sidx`/`skip_trailer` keep sidx and mfra off the stream.
 */
const MOVFLAGS = '+cmaf+frag_keyframe+empty_moov+default_base_moof+delay_moov+skip_sidx+skip_trailer';

/**
 * Demuxers an uploaded file may be read with. Probing picks the demuxer by content, so
 * without this a "video.mp4" that is really an HLS playlist makes ffmpeg open the URLs
 * and local files it lists.
 */
const VOD_FORMATS = 'mov,matroska,mpegts,mpeg,flv,avi,asf,ogg,wav,mp3,aac,flac,mxf,ivf';
/** Input options for a file, shared with probeInput so probing is as confined as transcoding. */
export const VOD_INPUT_OPTIONS: readonly string[] = [
  '-protocol_whitelist',
  'file',
  '-format_whitelist',
  VOD_FORMATS,
];

const LIVE_URL =
  /^(tcp|http):\/\/([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}(\/[A-Za-z0-9._~/-]*)?$/;
/**
 * The worker's own pipe: it reads the relay over HTTP and writes the body to ffmpeg's
 * stdin (io.live only). ffmpeg turns off its keyboard commands when an input is `pipe:`.
 */
export const LIVE_PIPE_INPUT = 'pipe:0';
// Control characters (newline, NUL) would let a path end an argv element early in logs and tools.
const ABSOLUTE_PATH = /^\/[^\p{Cc}]*$/u;

/** How long (µs) the live input may stall before ffmpeg gives up, so the worker can restart it. */
const LIVE_READ_TIMEOUT_US = 10_000_000;
/** Enough media to learn the codec parameters of an MPEG-TS stream without waiting long. */
const LIVE_ANALYZE_US = 1_000_000;
/** Packets the demuxer may queue ahead of the decoder (ffmpeg's default of 8 drops or blocks on bursts). */
const LIVE_THREAD_QUEUE = 512;

/**
 * The whole ffmpeg argument list for one ladder: decode once, one filtergraph that splits
 * and scales, one fragmented-MP4 pipe per rung and one for audio. Pure: every value comes
 * from the validated preset (numbers and enum members) or from `io`, which is checked here.
 */
export function buildFfmpegArgs(preset: Preset, family: EncoderFamily, io: FfmpegIo): string[] {
  const fam = FAMILIES[family];
  checkIo(io);
  const audioFd = io.firstOutputFd + preset.ladder.length;
  return [
    ...['-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1'],
    ...fam.inputOptions(io),
    ...inputOptions(io),
    ...['-i', io.input],
    ...['-filter_complex', filterGraph(preset, fam, io)],
    ...preset.ladder.flatMap((rung, i) => [
      ...['-map', `[v${i}]`],
      ...fam.encoderOptions(rung, preset, io),
      ...rateOptions(rung),
      ...gopOptions(rung, preset),
      // No B-frames, live or VOD. Live: reordering holds every frame back, latency a part
      // cannot spend. Both: measured with ffmpeg 5.1, a B-frame rung starts presenting two
      // frames after its tfdt (cmaf's negative CTS offsets do not re-base the first
      // sample), while a baseline or hardware rung does not, so keyframes would no longer
      // share presentation times across rungs. libsvtav1 ignores -bf; AV1 does not reorder
      // in the container.
      ...['-bf', '0'],
      ...muxOptions(preset, rungPartSeconds(rung, preset)),
      `pipe:${io.firstOutputFd + i}`,
    ]),
    ...(io.hasAudio
      ? [...['-map', '[a]'], ...audioOptions(preset), ...muxOptions(preset), `pipe:${audioFd}`]
      : []),
    ...whepAudioOutput(preset, io, audioFd + 1),
  ];
}

/** Whether a run writes the WHEP viewers' Opus rendition besides the HLS audio (FfmpegIo.whepAudio). */
export function writesWhepAudio(preset: Preset, io: FfmpegIo): boolean {
  return io.hasAudio && io.whepAudio === true && preset.audio.codec !== 'opus';
}

/** Bit rate of the WHEP viewers' Opus: stereo speech and music at WebRTC's usual quality. */
export const WHEP_OPUS_KBPS = 64;

/**
 * The WHEP viewers' Opus output (WebRTC has no AAC): `[ao]` from audioChain, encoded by
 * libopus and muxed as its own fragmented MP4 with the preset's part length, so its parts
 * reach every origin on the bus with the video rungs' and on the same timeline.
 */
export function whepAudioOutput(preset: Preset, io: FfmpegIo, fd: number): string[] {
  if (!writesWhepAudio(preset, io)) return [];
  return [
    ...['-map', '[ao]'],
    ...['-c:a', 'libopus', '-b:a', `${WHEP_OPUS_KBPS}k`, '-ac', '2', '-ar', '48000'],
    ...muxOptions(preset),
    `pipe:${fd}`,
  ];
}

/** Keyframes every `gopSeconds` in every rung, at the same media times, never elsewhere. */
export function gopFrames(rung: Rung, gopSeconds: number): number {
  // Ceil, not round: a shorter -g would make the encoder add a keyframe a frame early.
  return framesIn(gopSeconds, rung.fps);
}

export function checkIo(io: FfmpegIo): void {
  if (!Number.isInteger(io.firstOutputFd) || io.firstOutputFd < 3 || io.firstOutputFd > 1000) {
    throw new AppError(
      'internal',
      `firstOutputFd must be a whole number from 3 to 1000, got ${io.firstOutputFd}`,
    );
  }
  const ok =
    io.live === null ? ABSOLUTE_PATH.test(io.input) : io.input === LIVE_PIPE_INPUT || LIVE_URL.test(io.input);
  if (!ok) {
    const want = io.live === null ? 'an absolute file path' : `${LIVE_PIPE_INPUT} or a tcp:// or http:// URL`;
    throw new AppError('internal', `ffmpeg input must be ${want}, got ${JSON.stringify(io.input)}`);
  }
}

export function inputOptions(io: FfmpegIo): string[] {
  if (io.live === null) {
    return [...VOD_INPUT_OPTIONS];
  }
  const pipe = io.input === LIVE_PIPE_INPUT;
  // The relay's Matroska header declares every codec parameter, so there is nothing to
  // probe: read one packet and go. And no `-fflags nobuffer` for it: measured with ffmpeg
  // 5.1 on the relay's stream, nobuffer discards the packets read while probing, which
  // are the body's first key frame, so video started only at the next key frame (2 s
  // later with a 2 s GOP; never, for a WebRTC sender that sends key frames on request
  // only). Without it, the first fMP4 bytes came ~150 ms after the first input byte.
  // MPEG-TS declares nothing up front and keeps probing a second of media.
  const matroska = io.live.format === 'matroska';
  return [
    ...['-f', io.live.format],
    ...['-protocol_whitelist', pipe ? 'pipe' : io.input.startsWith('http:') ? 'http,tcp' : 'tcp'],
    ...(matroska ? [] : ['-fflags', 'nobuffer']),
    // low_delay: the decoder hands each frame on at once (WebRTC sends no B-frames).
    ...['-flags', 'low_delay'],
    ...(matroska
      ? ['-probesize', '32', '-analyzeduration', '0']
      : ['-probesize', '1000000', '-analyzeduration', String(LIVE_ANALYZE_US)]),
    ...['-thread_queue_size', String(LIVE_THREAD_QUEUE)],
    // A pipe has no read timeout; the worker watches the relay connection instead.
    ...(pipe ? [] : ['-rw_timeout', String(LIVE_READ_TIMEOUT_US)]),
  ];
}

/**
 * The audio chain of every live and file graph (see filterGraph for why it starts at 0,
 * encoderDelaySeconds for the trim).
 */
export function audioChain(preset: Preset, io?: FfmpegIo): string {
  const resampled = '[0:a:0]aresample=async=1:first_pts=0';
  if (!io || !writesWhepAudio(preset, io))
    return `${resampled},atrim=start=${encoderDelaySeconds(preset)}[a]`;
  const opusDelay = (ENCODER_DELAY_SAMPLES.opus / 48000).toFixed(6);
  return [
    `${resampled},asplit=2[ah][aw]`,
    `[ah]atrim=start=${encoderDelaySeconds(preset)}[a]`,
    `[aw]atrim=start=${opusDelay}[ao]`,
  ].join(';');
}

/**
 * `[0:V:0]split=N[s0]..;[s0]fps=F:start_time=0,<scale>,setsar=1[v0];..;[0:a:0]aresample=..[a]`.
 * `V` (not `v`) skips cover art, which some files list as their first video stream.
 *
 * Each rendition is its own MP4 whose timeline the muxer starts at 0 from its first
 * packet, so renditions agree only if every stream starts at the same instant. Measured:
 * audio starting 0.48 s after video came out with tfdt 0 as well, 0.48 s out of sync. So
 * every chain starts at input time 0: `fps` repeats the first frame back to 0 and
 * `aresample` pads silence (its async mode also fills the gaps WebRTC senders leave in
 * silence with Opus DTX, which would otherwise make audio drift).
 */
function filterGraph(preset: Preset, fam: FamilyArgs, io: FfmpegIo): string {
  const n = preset.ladder.length;
  const splits = preset.ladder.map((_, i) => `[s${i}]`).join('');
  const chains = preset.ladder.map(
    // setsar=1: the rung's size is its display size (scale would keep the source aspect
    // by adjusting SAR, and 854x480 from 1280x720 would then display as 853x480).
    (rung, i) => `[s${i}]fps=${rung.fps}:start_time=0,${fam.scaleFilter(rung)},setsar=1[v${i}]`,
  );
  const graph = [`[0:V:0]split=${n}${splits}`, ...chains];
  if (io.hasAudio) graph.push(audioChain(preset, io));
  return graph.join(';');
}

/** Samples an audio encoder puts before its first input sample: ffmpeg's aac, and libopus at 48 kHz. */
const ENCODER_DELAY_SAMPLES = { aac: 1024, opus: 312 } as const;

/**
 * The audio encoder's delay in seconds. The encoder gives its first packet (the priming
 * samples) the time of its first input sample less this delay; a negative time, which the
 * MP4 muxer shifts to 0 with the rest of the rendition (no edit list in fragmented MP4),
 * so every sample came out this much late: measured 21 ms of AAC in the HLS (A/V sync
 * test). `atrim` starts the encoder's input at this time instead (it keeps timestamps),
 * so the priming lands at 0 and sample t at t; the first 21 ms of the stream's audio
 * (silence that aresample padded, or the first packet) are dropped.
 */
function encoderDelaySeconds(preset: Preset): string {
  const a = preset.audio;
  const rate = a.codec === 'opus' ? 48000 : a.sampleRate;
  return (ENCODER_DELAY_SAMPLES[a.codec] / rate).toFixed(6);
}

function rateOptions(rung: Rung): string[] {
  return [
    ...['-b:v', kbps(rung.videoBitrateKbps)],
    ...['-maxrate', kbps(rungMaxrateKbps(rung))],
    ...['-bufsize', kbps(rungBufsizeKbps(rung))],
  ];
}

function gopOptions(rung: Rung, preset: Preset): string[] {
  const g = String(gopFrames(rung, preset.gopSeconds));
  return [
    ...['-g', g, '-keyint_min', g],
    // Forced by media time, so rungs with different frame rates still share keyframe instants.
    ...['-force_key_frames', `expr:gte(t,n_forced*${preset.gopSeconds})`],
  ];
}

export function audioOptions(preset: Preset): string[] {
  const a = preset.audio;
  return [
    ...['-c:a', a.codec === 'opus' ? 'libopus' : 'aac'],
    ...['-b:a', kbps(a.bitrateKbps), '-ac', String(a.channels)],
    // libopus encodes at 48 kHz only; 44.1 kHz is honoured for AAC.
    ...['-ar', a.codec === 'opus' ? '48000' : String(a.sampleRate)],
  ];
}

/**
 * -frag_duration of a rung: parts of partFrames() frames (see core/part-frames.ts); the
 * preset's partSeconds itself where that already makes them (ceil(partSeconds × fps)).
 */
export function rungPartSeconds(rung: Rung, preset: Preset): number {
  const frames = partFrames(rung.fps, preset.partSeconds, preset.gopSeconds);
  if (frames === framesIn(preset.partSeconds, rung.fps)) return preset.partSeconds;
  return fragSeconds(frames, rung.fps);
}

export function muxOptions(preset: Preset, partSeconds = preset.partSeconds): string[] {
  return [
    // Chapters would add a text track and input tags would carry user text into the output.
    ...['-map_metadata', '-1', '-map_chapters', '-1'],
    ...['-f', 'mp4', '-movflags', MOVFLAGS],
    // A fragment ends at every keyframe and at the first frame that brings it to
    // partSeconds or more: ceil(partSeconds * rate) frames, so a part can run up to one
    // frame (video) or one 1024-sample AAC frame over partSeconds; PART-TARGET must allow it.
    ...['-frag_duration', String(Math.round(partSeconds * 1_000_000))],
  ];
}

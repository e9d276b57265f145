import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import {
  allSegments,
  JPEG_TYPE,
  lowestRung,
  newestSegments,
  planSprite,
  POSTER_NAME,
  posterTimeS,
  renderThumbnailsVtt,
  runBytes,
  segmentsFor,
  SPRITE_NAME,
  THUMBNAILS_VTT_NAME,
  VTT_TYPE,
  type Storage,
} from '../packager/index.js';
import { fileThumbnailArgs, posterArgs } from './ffmpeg/args-thumbnails.js';
import { runStill } from './ffmpeg/still.js';

/** A file's poster fits in 640 x 640: the <video> poster and list pictures alike. */
const FILE_POSTER_SIDE = 640;
/** A live poster fits in 320 x 320: it is remade every few seconds, so small and cheap. */
const LIVE_POSTER_SIDE = 320;
const LIVE_POSTER_TIMEOUT_MS = 5000;

export interface FileThumbnailsInput {
  storage: Storage;
  ffmpegPath: string;
  assetId: string;
  durationMs: number;
  gopSeconds: number;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * After a file is packaged: its poster, the seeking sprite and the WebVTT thumbnail
 * track, cut from the lowest rung in storage in one ffmpeg run that reads only the
 * segments holding those pictures and decodes key frames only, and stored beside the
 * playlists. Returns the names written.
 */
export async function storeFileThumbnails(o: FileThumbnailsInput): Promise<string[]> {
  const rung = await lowestRung(o.storage, o.assetId);
  if (!rung) throw new AppError('not_found', `${o.assetId} has no video rendition to take pictures from`);
  const [run] = await allSegments(o.storage, o.assetId, rung);
  if (!run) throw new AppError('not_found', `${o.assetId} has no segments`);
  const durationS = o.durationMs / 1000;
  const plan = planSprite({ durationS, gopS: o.gopSeconds, width: rung.width, height: rung.height });
  const posterAt = posterTimeS(durationS, o.gopSeconds);
  // Only the segments that hold a picture's key frame are read (their times stay theirs: tfdt).
  const keep = new Set(segmentsFor(plan, posterAt, run.durations));
  const wanted = { ...run, segments: run.segments.filter((_, i) => keep.has(i)) };
  const [poster, sprite] = await runStill({
    ffmpegPath: o.ffmpegPath,
    args: fileThumbnailArgs(plan, posterAt, o.gopSeconds, FILE_POSTER_SIDE),
    outputCount: 2,
    input: runBytes(o.storage, o.assetId, wanted),
    // Key frames only, of the smallest rung: seconds for hours of media.
    timeoutMs: Math.round(30_000 + o.durationMs / 20),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.log ? { log: o.log } : {}),
  });
  const vtt = renderThumbnailsVtt(plan, durationS);
  await Promise.all([
    o.storage.put(`${o.assetId}/${POSTER_NAME}`, poster!, JPEG_TYPE),
    o.storage.put(`${o.assetId}/${SPRITE_NAME}`, sprite!, JPEG_TYPE),
  ]);
  // The track last: a player that finds it finds the sprite it names.
  await o.storage.put(`${o.assetId}/${THUMBNAILS_VTT_NAME}`, Buffer.from(vtt), VTT_TYPE);
  o.log?.debug(
    { tiles: plan.count, intervalS: plan.intervalS, segmentsRead: wanted.segments.length },
    'thumbnails stored',
  );
  return [POSTER_NAME, SPRITE_NAME, THUMBNAILS_VTT_NAME];
}

/**
 * A live stream's poster now: the first frame of the newest complete segment of its
 * lowest rung (one read of an init segment and a segment, one short ffmpeg run).
 * Null while the stream has no complete segment yet.
 */
export async function makeStreamPoster(o: {
  storage: Storage;
  ffmpegPath: string;
  streamId: string;
  signal?: AbortSignal;
  log?: Logger;
}): Promise<Buffer | null> {
  const rung = await lowestRung(o.storage, o.streamId);
  if (!rung) return null;
  // The newest segment may leave the live window (and storage) before it is read: then the one before.
  for (const run of (await newestSegments(o.storage, o.streamId, rung)).slice(0, 2)) {
    const bytes: Buffer[] = [];
    try {
      for await (const b of runBytes(o.storage, o.streamId, run)) bytes.push(b);
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') continue;
      throw e;
    }
    if (bytes.length < 2) continue;
    const [poster] = await runStill({
      ffmpegPath: o.ffmpegPath,
      args: posterArgs(LIVE_POSTER_SIDE),
      outputCount: 1,
      input: bytes,
      timeoutMs: LIVE_POSTER_TIMEOUT_MS,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    return poster ?? null;
  }
  return null;
}

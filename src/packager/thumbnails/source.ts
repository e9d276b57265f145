import { AppError } from '../../core/errors.js';
import { parseMediaPlaylist, type MediaMap, type MediaSegment } from '../playlist/media.js';
import { parseMultivariantPlaylist } from '../playlist/multivariant.js';
import { isObjectName } from '../names.js';
import type { Storage } from '../storage/storage.js';

/**
 * Pictures are cut from what the packager stored, read through the Storage interface
 * (local disk or S3 alike): the lowest video rung of an asset's ladder, the cheapest to
 * decode. Only names that pass the storage allow-list are read, although they come from
 * our own playlists.
 */

/** `index.m3u8`: CONTRACT.md's multivariant playlist of every stream and file. */
const MULTIVARIANT = 'index.m3u8';

export interface LowestRung {
  /** Its media playlist's name, e.g. `360p.m3u8`. */
  playlist: string;
  width: number;
  height: number;
}

async function text(storage: Storage, id: string, name: string): Promise<string | null> {
  if (!isObjectName(name)) throw new AppError('internal', `unexpected name ${name} in a playlist of ${id}`);
  const obj = await storage.get(`${id}/${name}`);
  return obj ? obj.body.toString('utf8') : null;
}

/** The variant with the fewest pixels (then the lowest bandwidth); null before index.m3u8 exists. */
export async function lowestRung(storage: Storage, id: string): Promise<LowestRung | null> {
  const body = await text(storage, id, MULTIVARIANT);
  if (body === null) return null;
  const variants = parseMultivariantPlaylist(body).variants.filter((v) => v.resolution);
  variants.sort(
    (a, b) =>
      a.resolution!.width * a.resolution!.height - b.resolution!.width * b.resolution!.height ||
      a.bandwidth - b.bandwidth,
  );
  const v = variants[0];
  if (!v) return null;
  return { playlist: v.uri, width: v.resolution!.width, height: v.resolution!.height };
}

/** One decodable piece of a rung: its init segment, then media segments that follow it. */
export interface SegmentRun {
  init: string;
  segments: string[];
  /** Each segment's EXTINF duration, seconds. */
  durations: number[];
}

/** Segments of a parsed media playlist with the EXT-X-MAP in force for each; gaps left out. */
function withMaps(list: {
  map?: MediaMap;
  segments: MediaSegment[];
}): { map: string; uri: string; duration: number }[] {
  let map = list.map?.uri;
  const out: { map: string; uri: string; duration: number }[] = [];
  for (const s of list.segments) {
    if (s.map) map = s.map.uri;
    if (!s.gap && map !== undefined) out.push({ map, uri: s.uri, duration: s.duration });
  }
  return out;
}

async function segments(storage: Storage, id: string, playlist: string) {
  const body = await text(storage, id, playlist);
  return body === null ? null : withMaps(parseMediaPlaylist(body));
}

/**
 * The newest complete segments of a live rung, newest first (a segment listed with
 * EXTINF is complete; parts after the last one belong to the segment being written).
 * A segment starts with a key frame, so its first frame decodes on its own.
 */
export async function newestSegments(storage: Storage, id: string, rung: LowestRung): Promise<SegmentRun[]> {
  const list = (await segments(storage, id, rung.playlist)) ?? [];
  return list.reverse().map((s) => ({ init: s.map, segments: [s.uri], durations: [s.duration] }));
}

/** Every segment of a file's rung, in order, grouped by init segment (a VOD has one). */
export async function allSegments(storage: Storage, id: string, rung: LowestRung): Promise<SegmentRun[]> {
  const runs: SegmentRun[] = [];
  for (const s of (await segments(storage, id, rung.playlist)) ?? []) {
    const last = runs[runs.length - 1];
    if (last && last.init === s.map) {
      last.segments.push(s.uri);
      last.durations.push(s.duration);
    } else runs.push({ init: s.map, segments: [s.uri], durations: [s.duration] });
  }
  return runs;
}

/**
 * The bytes of a run as one fragmented MP4 stream (init segment, then each segment),
 * read one object at a time as the consumer (ffmpeg's stdin) takes them. A segment the
 * live window deleted meanwhile ends the stream early: what was read still decodes.
 */
export async function* runBytes(storage: Storage, id: string, run: SegmentRun): AsyncGenerator<Buffer> {
  for (const name of [run.init, ...run.segments]) {
    if (!isObjectName(name)) throw new AppError('internal', `unexpected name ${name} in a playlist of ${id}`);
    const obj = await storage.get(`${id}/${name}`);
    if (!obj) {
      if (name === run.init) throw new AppError('not_found', `${id}/${name} is gone`);
      return;
    }
    yield obj.body;
  }
}

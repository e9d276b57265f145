import { BoxCursor, Mp4ParseError, boxes, findChild, findChildren, requirePath, type Box } from './boxes.js';
import { codecString } from './codec.js';

/** Defaults a fragment falls back on when its tfhd/trun leave a field out (trex, ISO 14496-12 8.8.3). */
export interface TrackDefaults {
  sampleDuration: number;
  sampleSize: number;
  sampleFlags: number;
}

/** What the packager needs to know about the one track of a rendition's init segment. */
export interface TrackInfo {
  trackId: number;
  /** Ticks per second of every time in this track's fragments (mdhd). */
  timescale: number;
  /** hdlr handler_type: `vide`, `soun`, ... */
  handler: string;
  kind: 'video' | 'audio' | 'other';
  /** Sample entry four-character code (`avc1`, `mp4a`, `Opus`). */
  sampleEntry: string;
  /** RFC 6381 string for CODECS (`avc1.64001f`, `mp4a.40.2`, `opus`). */
  codec: string;
  /** Display size in pixels (tkhd, else the sample entry). */
  width?: number;
  height?: number;
  /** Audio only: Hz and channel count from the sample entry. */
  sampleRate?: number;
  channels?: number;
  defaults: TrackDefaults;
}

/** Sample entry header bytes before its child boxes (ISO 14496-12 12.1.3, 12.2.3). */
export const VISUAL_ENTRY_BYTES = 78;
const AUDIO_ENTRY_BYTES = 28;

function trackId(tkhd: Box): { id: number; width: number; height: number } {
  const c = new BoxCursor(tkhd);
  const { version } = c.fullHeader();
  c.skip(version === 1 ? 16 : 8); // creation, modification
  const id = c.u32();
  c.skip(4); // reserved
  c.skip(version === 1 ? 8 : 4); // duration
  c.skip(8 + 2 + 2 + 2 + 2 + 36); // reserved, layer, alternate_group, volume, reserved, matrix
  // 16.16 fixed point; the integer part is the display size.
  const width = c.u32() >>> 16;
  const height = c.u32() >>> 16;
  return { id, width, height };
}

function timescaleOf(mdhd: Box): number {
  const c = new BoxCursor(mdhd);
  const { version } = c.fullHeader();
  c.skip(version === 1 ? 16 : 8);
  const ts = c.u32();
  if (ts === 0) throw new Mp4ParseError('bad_box', 'mdhd timescale is 0');
  return ts;
}

function handlerOf(hdlr: Box): string {
  const c = new BoxCursor(hdlr);
  c.fullHeader();
  c.skip(4); // pre_defined
  const t = c.u32();
  return String.fromCharCode((t >>> 24) & 0xff, (t >>> 16) & 0xff, (t >>> 8) & 0xff, t & 0xff);
}

function defaultsFor(moov: Box, id: number): TrackDefaults {
  const mvex = findChild(moov, 'mvex');
  for (const trex of mvex ? findChildren(mvex, 'trex') : []) {
    const c = new BoxCursor(trex);
    c.fullHeader();
    if (c.u32() !== id) continue;
    c.u32(); // default_sample_description_index
    return { sampleDuration: c.u32(), sampleSize: c.u32(), sampleFlags: c.u32() };
  }
  return { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 };
}

export function sampleEntry(stbl: Box): Box {
  const stsd = requirePath(stbl, ['stsd']);
  const c = new BoxCursor(stsd);
  c.fullHeader();
  if (c.u32() < 1) throw new Mp4ParseError('missing_box', 'stsd has no sample entry');
  const first = boxes(stsd.buf, c.pos, stsd.end).next();
  if (first.done) throw new Mp4ParseError('missing_box', 'stsd has no sample entry');
  return first.value;
}

/** QuickTime sound entries v1/v2 carry extra fields before their children. */
function audioEntryBytes(entry: Box): number {
  const c = new BoxCursor(entry);
  c.skip(8);
  const version = c.u16();
  return AUDIO_ENTRY_BYTES + (version === 1 ? 16 : version === 2 ? 36 : 0);
}

/** Parses a moov box (the init segment's) with exactly one track. */
export function parseMoov(moov: Box): TrackInfo {
  const traks = findChildren(moov, 'trak');
  if (traks.length === 0) throw new Mp4ParseError('missing_box', 'moov has no trak');
  if (traks.length > 1) {
    throw new Mp4ParseError('unsupported', `moov has ${traks.length} tracks; one rendition per stream`);
  }
  const trak = traks[0]!;
  const tk = trackId(requirePath(trak, ['tkhd']));
  const mdia = requirePath(trak, ['mdia']);
  const timescale = timescaleOf(requirePath(mdia, ['mdhd']));
  const handler = handlerOf(requirePath(mdia, ['hdlr']));
  const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : 'other';
  const entry = sampleEntry(requirePath(mdia, ['minf', 'stbl']));
  const info: TrackInfo = {
    trackId: tk.id,
    timescale,
    handler,
    kind,
    sampleEntry: entry.type,
    codec: entry.type,
    defaults: defaultsFor(moov, tk.id),
  };
  if (kind === 'video') {
    const c = new BoxCursor(entry, 24);
    const w = c.u16();
    const h = c.u16();
    info.width = tk.width || w;
    info.height = tk.height || h;
    info.codec = codecString(entry, VISUAL_ENTRY_BYTES);
  } else if (kind === 'audio') {
    const c = new BoxCursor(entry, 16);
    info.channels = c.u16();
    c.skip(6); // samplesize, pre_defined, reserved
    info.sampleRate = c.u32() >>> 16 || timescale;
    info.codec = codecString(entry, audioEntryBytes(entry));
  }
  return info;
}

/** Parses a whole init segment (ftyp, moov and anything else at top level). */
export function parseInit(init: Uint8Array): TrackInfo {
  for (const b of boxes(init)) if (b.type === 'moov') return parseMoov(b);
  throw new Mp4ParseError('missing_box', 'init segment has no moov');
}

import { PlaylistError, float, formatAttributes, int, raw, yesNo, type AttrEntry } from './attributes.js';
import type { ByteRange, MediaMap, MediaPart, MediaPlaylist } from './media.js';

/** Decimals for EXTINF and part durations: 10 µs, finer than any frame. */
const DURATION_DECIMALS = 5;

/**
 * The lowest EXT-X-VERSION the playlist's features need. RFC 8216bis section 8:
 * "A Playlist that contains tags or attributes that are not compatible with
 * protocol version 1 MUST include an EXT-X-VERSION tag", and the section lists
 * which feature needs which version.
 */
export function requiredVersion(p: MediaPlaylist): number {
  let v = 1;
  // "Floating-point EXTINF duration values" need version 3; we always write decimals.
  if (p.segments.length > 0) v = Math.max(v, 3);
  // "The EXT-X-BYTERANGE tag" needs version 4.
  if (p.segments.some((s) => s.byteRange)) v = Math.max(v, 4);
  // "The EXT-X-MAP tag in a Media Playlist that does not contain EXT-X-I-FRAMES-ONLY" needs version 6.
  if (p.map || p.segments.some((s) => s.map) || p.trailingTags?.map) v = Math.max(v, 6);
  // "The EXT-X-SKIP tag" needs version 9, "RECENTLY-REMOVED-DATERANGES" version 10.
  if (p.skip) v = Math.max(v, p.skip.recentlyRemovedDateRanges ? 10 : 9);
  return v;
}

function byteRangeText(r: ByteRange): string {
  return r.offset === undefined ? `${r.length}` : `${r.length}@${r.offset}`;
}

function mapLine(m: MediaMap): string {
  return `#EXT-X-MAP:${formatAttributes([
    ['URI', m.uri],
    ['BYTERANGE', m.byteRange ? byteRangeText(m.byteRange) : undefined],
  ])}`;
}

function partLine(p: MediaPart): string {
  return `#EXT-X-PART:${formatAttributes([
    ['DURATION', float(p.duration, DURATION_DECIMALS)],
    ['URI', p.uri],
    ['INDEPENDENT', p.independent ? yesNo(true) : undefined],
    ['BYTERANGE', p.byteRange ? byteRangeText(p.byteRange) : undefined],
    ['GAP', p.gap ? yesNo(true) : undefined],
  ])}`;
}

function checkUri(uri: string): string {
  // A URI line is one line; anything that breaks it would inject tags.
  if (uri === '' || /[\r\n]/.test(uri) || uri.startsWith('#')) throw new PlaylistError(`bad URI "${uri}"`);
  return uri;
}

/** Renders a Media Playlist; throws PlaylistError when the model breaks a MUST. */
export function renderMediaPlaylist(p: MediaPlaylist): string {
  const need = requiredVersion(p);
  if (p.version < need) {
    throw new PlaylistError(`EXT-X-VERSION ${p.version} is below the ${need} this playlist's tags need`);
  }
  for (const s of p.segments) {
    // RFC 8216bis 4.4.3.1: "The EXTINF duration of each Media Segment in a Playlist
    // file, when rounded to the nearest integer, MUST be less than or equal to the
    // Target Duration."
    if (Math.round(s.duration) > p.targetDuration) {
      throw new PlaylistError(
        `segment ${s.uri} lasts ${s.duration}s, beyond EXT-X-TARGETDURATION ${p.targetDuration}`,
      );
    }
  }
  const hasParts = p.segments.some((s) => s.parts?.length) || (p.trailingParts?.length ?? 0) > 0;
  // RFC 8216bis 4.4.3.7 (EXT-X-PART-INF): "This tag is REQUIRED if a Media Playlist contains one or more EXT-X-PART tags."
  if (hasParts && p.partTarget === undefined) throw new PlaylistError('EXT-X-PART needs EXT-X-PART-INF');

  const out: string[] = [
    '#EXTM3U',
    `#EXT-X-VERSION:${p.version}`,
    `#EXT-X-TARGETDURATION:${int(p.targetDuration).raw}`,
  ];
  if (p.serverControl) {
    const c = p.serverControl;
    const entries: AttrEntry[] = [
      ['CAN-SKIP-UNTIL', c.canSkipUntil === undefined ? undefined : float(c.canSkipUntil, 3)],
      ['CAN-SKIP-DATERANGES', c.canSkipDateRanges ? yesNo(true) : undefined],
      ['HOLD-BACK', c.holdBack === undefined ? undefined : float(c.holdBack, 3)],
      ['PART-HOLD-BACK', c.partHoldBack === undefined ? undefined : float(c.partHoldBack, 3)],
      ['CAN-BLOCK-RELOAD', c.canBlockReload ? yesNo(true) : undefined],
    ];
    out.push(`#EXT-X-SERVER-CONTROL:${formatAttributes(entries)}`);
  }
  if (p.partTarget !== undefined)
    out.push(`#EXT-X-PART-INF:PART-TARGET=${float(p.partTarget, DURATION_DECIMALS).raw}`);
  out.push(`#EXT-X-MEDIA-SEQUENCE:${int(p.mediaSequence).raw}`);
  if (p.discontinuitySequence !== undefined) {
    out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${int(p.discontinuitySequence).raw}`);
  }
  if (p.playlistType) out.push(`#EXT-X-PLAYLIST-TYPE:${p.playlistType}`);
  if (p.independentSegments) out.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (p.map) out.push(mapLine(p.map));
  if (p.skip) {
    out.push(
      `#EXT-X-SKIP:${formatAttributes([
        ['SKIPPED-SEGMENTS', int(p.skip.skippedSegments)],
        ['RECENTLY-REMOVED-DATERANGES', p.skip.recentlyRemovedDateRanges?.join('\t')],
      ])}`,
    );
  }
  for (const s of p.segments) {
    if (s.discontinuity) out.push('#EXT-X-DISCONTINUITY');
    if (s.map) out.push(mapLine(s.map));
    if (s.programDateTime) out.push(`#EXT-X-PROGRAM-DATE-TIME:${s.programDateTime.toISOString()}`);
    for (const part of s.parts ?? []) out.push(partLine(part));
    if (s.gap) out.push('#EXT-X-GAP');
    const title = s.title ?? '';
    if (/[\r\n]/.test(title)) throw new PlaylistError('EXTINF title cannot hold a line break');
    out.push(`#EXTINF:${float(s.duration, DURATION_DECIMALS).raw},${title}`);
    if (s.byteRange) out.push(`#EXT-X-BYTERANGE:${byteRangeText(s.byteRange)}`);
    out.push(checkUri(s.uri));
  }
  const t = p.trailingTags;
  if (t && (t.discontinuity || t.map || t.programDateTime)) {
    if (!p.trailingParts?.length) throw new PlaylistError('trailing segment tags without a part to apply to');
    if (t.discontinuity) out.push('#EXT-X-DISCONTINUITY');
    if (t.map) out.push(mapLine(t.map));
    if (t.programDateTime) out.push(`#EXT-X-PROGRAM-DATE-TIME:${t.programDateTime.toISOString()}`);
  }
  for (const part of p.trailingParts ?? []) out.push(partLine(part));
  if (p.endList) out.push('#EXT-X-ENDLIST');
  if (p.preloadHint) {
    const h = p.preloadHint;
    out.push(
      `#EXT-X-PRELOAD-HINT:${formatAttributes([
        ['TYPE', raw(h.type)],
        ['URI', h.uri],
        ['BYTERANGE-START', h.byteRangeStart === undefined ? undefined : int(h.byteRangeStart)],
        ['BYTERANGE-LENGTH', h.byteRangeLength === undefined ? undefined : int(h.byteRangeLength)],
      ])}`,
    );
  }
  for (const r of p.renditionReports ?? []) {
    out.push(
      `#EXT-X-RENDITION-REPORT:${formatAttributes([
        ['URI', r.uri],
        ['LAST-MSN', r.lastMsn === undefined ? undefined : int(r.lastMsn)],
        ['LAST-PART', r.lastPart === undefined ? undefined : int(r.lastPart)],
      ])}`,
    );
  }
  return out.join('\n') + '\n';
}

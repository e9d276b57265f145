import {
  parseMediaPlaylist,
  requiredVersion,
  type MediaPart,
  type MediaPlaylist,
} from '../../src/packager/playlist/media.js';
import {
  parseMultivariantPlaylist,
  type MultivariantPlaylist,
} from '../../src/packager/playlist/multivariant.js';

/**
 * A strict Apple LL-HLS checker for our live playlists (RFC 8216bis, with the rules of
 * the brief on top). Every problem found is listed in one thrown LlhlsError, so a
 * failing test names them all. `LlhlsTracker` adds the rules that span reloads.
 */

export class LlhlsError extends Error {
  readonly problems: string[];
  constructor(problems: string[], text: string) {
    super(`${problems.length} LL-HLS problem(s):\n- ${problems.join('\n- ')}\n--- playlist ---\n${text}`);
    this.name = 'LlhlsError';
    this.problems = problems;
  }
}

export interface MediaCheckOptions {
  /** The playlist's rendition (file stem: `{rendition}.m3u8`, `{rendition}_{msn}.m4s`). */
  rendition: string;
  /** Every rendition of the stream; each other one needs an EXT-X-RENDITION-REPORT. */
  renditions: readonly string[];
  /** Complete segments the window must hold once that many exist. @defaultValue 6 */
  minWindow?: number;
  /** true: must be a delta update (EXT-X-SKIP); false: must not; absent: either. */
  delta?: boolean;
  /** true: must have EXT-X-ENDLIST; false: must not. */
  ended?: boolean;
  /** `audio`: every part starts with a sync sample. `video`: every segment's first part does. */
  kind?: 'video' | 'audio';
  /** Whether a part starts with a sync sample, read from the media; undefined when unknown. */
  independentOf?: (uri: string) => boolean | undefined;
}

const EPS = 1e-6;
const count = (text: string, tag: string): number =>
  text.split('\n').filter((l) => l === tag || l.startsWith(`${tag}:`)).length;

const segmentRe = (r: string): RegExp => new RegExp(`^${r}_(\\d+)\\.m4s$`);
const partRe = (r: string): RegExp => new RegExp(`^${r}_(\\d+)\\.(\\d+)\\.m4s$`);

interface PartAt {
  msn: number;
  index: number;
  part: MediaPart;
  last: boolean;
}

/** Checks one Media Playlist text; returns it parsed. */
export function checkMediaPlaylist(text: string, o: MediaCheckOptions): MediaPlaylist {
  const bad: string[] = [];
  let p: MediaPlaylist;
  try {
    p = parseMediaPlaylist(text);
  } catch (e) {
    throw new LlhlsError([`does not parse: ${(e as Error).message}`], text);
  }
  const ended = p.endList === true;
  for (const tag of [
    '#EXT-X-VERSION',
    '#EXT-X-TARGETDURATION',
    '#EXT-X-MEDIA-SEQUENCE',
    '#EXT-X-PART-INF',
    '#EXT-X-SERVER-CONTROL',
    '#EXT-X-DISCONTINUITY-SEQUENCE',
  ]) {
    const n = count(text, tag);
    if (n !== 1) bad.push(`${tag} appears ${n} times (want exactly once)`);
  }
  if (count(text, '#EXT-X-ENDLIST') > 1) bad.push('more than one EXT-X-ENDLIST');
  if (o.ended === true && !ended) bad.push('EXT-X-ENDLIST missing');
  if (o.ended === false && ended) bad.push('EXT-X-ENDLIST before the end');

  // Versions: fMP4 needs 6, EXT-X-SKIP 9.
  if (p.version < Math.max(6, requiredVersion(p))) bad.push(`EXT-X-VERSION ${p.version} is too low`);

  const td = p.targetDuration;
  if (!Number.isInteger(td) || td < 1) bad.push(`EXT-X-TARGETDURATION ${td} is not a positive integer`);
  for (const s of p.segments) {
    if (Math.round(s.duration) > td)
      bad.push(`${s.uri}: EXTINF ${s.duration} rounds above TARGETDURATION ${td}`);
    if (!(s.duration > 0)) bad.push(`${s.uri}: EXTINF ${s.duration} is not positive`);
  }

  // EXT-X-SERVER-CONTROL (RFC 8216bis 4.4.3.8).
  const pt = p.partTarget;
  const sc = p.serverControl ?? {};
  if (pt === undefined || !(pt > 0)) bad.push('EXT-X-PART-INF:PART-TARGET missing or not positive');
  if (sc.canBlockReload !== true) bad.push('CAN-BLOCK-RELOAD=YES missing');
  if (pt !== undefined && !((sc.partHoldBack ?? 0) >= 3 * pt - EPS)) {
    bad.push(`PART-HOLD-BACK ${sc.partHoldBack} < 3 x PART-TARGET ${pt}`);
  }
  if (!((sc.holdBack ?? 0) >= 3 * td - EPS)) bad.push(`HOLD-BACK ${sc.holdBack} < 3 x TARGETDURATION ${td}`);
  if (!((sc.canSkipUntil ?? 0) >= 6 * td - EPS))
    bad.push(`CAN-SKIP-UNTIL ${sc.canSkipUntil} < 6 x TARGETDURATION ${td}`);

  if (!(p.mediaSequence >= 1)) bad.push(`EXT-X-MEDIA-SEQUENCE ${p.mediaSequence} < 1`);

  // EXT-X-SKIP (delta updates).
  const skipped = p.skip?.skippedSegments ?? 0;
  if (o.delta === true && !p.skip) bad.push('EXT-X-SKIP missing from a delta update');
  if (o.delta === false && p.skip) bad.push('EXT-X-SKIP in a full playlist');
  if (p.skip) {
    if (!(skipped >= 1)) bad.push(`EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
    // Segments closer than the Skip Boundary to the end must be listed.
    const listed =
      p.segments.reduce((a, s) => a + s.duration, 0) +
      (p.trailingParts ?? []).reduce((a, x) => a + x.duration, 0);
    const lastSkippedSuffix = listed;
    // Durations are printed to 5 decimals: allow their rounding.
    if (lastSkippedSuffix < (sc.canSkipUntil ?? Infinity) - 1e-3) {
      bad.push(
        `skipped a segment only ${lastSkippedSuffix.toFixed(3)} s from the end (< CAN-SKIP-UNTIL ${sc.canSkipUntil})`,
      );
    }
    const lines = text.split('\n');
    const mapAt = lines.findIndex((l) => l.startsWith('#EXT-X-MAP:'));
    if (mapAt >= 0 && mapAt < lines.findIndex((l) => l.startsWith('#EXT-X-SKIP:'))) {
      bad.push('EXT-X-MAP before EXT-X-SKIP (it must follow, on the first listed segment)');
    }
  }

  // Names: segment URIs carry their msn, parts carry msn and index.
  const segName = segmentRe(o.rendition);
  const prtName = partRe(o.rendition);
  p.segments.forEach((s, i) => {
    const msn = p.mediaSequence + skipped + i;
    const m = segName.exec(s.uri);
    if (!m || Number(m[1]) !== msn)
      bad.push(`segment ${s.uri} is not ${o.rendition}_${msn}.m4s (msn by position)`);
  });

  // EXT-X-MAP before the first segment, and a new one after every discontinuity.
  let map = p.map?.uri;
  const firstItemMap =
    p.segments[0]?.map?.uri ?? (p.segments.length === 0 ? p.trailingTags?.map?.uri : undefined);
  if (!map && !firstItemMap) bad.push('no EXT-X-MAP before the first segment');
  p.segments.forEach((s, i) => {
    if (s.discontinuity) {
      // The first listed segment's map is the one at the top.
      if (i > 0 && (!s.map || s.map.uri === map))
        bad.push(`${s.uri}: a discontinuity without a new EXT-X-MAP`);
      if (!s.programDateTime) bad.push(`${s.uri}: a discontinuity without EXT-X-PROGRAM-DATE-TIME`);
    }
    if (s.map) map = s.map.uri;
    if (i === 0 && !s.programDateTime) bad.push(`${s.uri}: the first segment has no EXT-X-PROGRAM-DATE-TIME`);
  });
  const tt = p.trailingTags;
  if (tt?.discontinuity) {
    // Without complete segments, the map at the top is the open segment's.
    if (p.segments.length > 0 && (!tt.map || tt.map.uri === map)) {
      bad.push('trailing parts after a discontinuity without a new EXT-X-MAP');
    }
    if (!tt.programDateTime) bad.push('trailing parts after a discontinuity without EXT-X-PROGRAM-DATE-TIME');
  }
  if (p.segments.length === 0 && p.trailingParts?.length && !tt?.programDateTime) {
    bad.push('no EXT-X-PROGRAM-DATE-TIME before the first part');
  }

  // Parts: where they are listed, durations, INDEPENDENT, names, sums.
  const parts: PartAt[] = [];
  let listingParts = false;
  p.segments.forEach((s, i) => {
    const msn = p.mediaSequence + skipped + i;
    if (s.parts?.length) listingParts = true;
    else if (listingParts && !s.gap)
      bad.push(`${s.uri}: parts listed for an older segment but not for this one`);
    if (s.gap && s.parts?.length) bad.push(`${s.uri}: a gap segment with parts`);
    const ps = s.parts ?? [];
    ps.forEach((part, k) => parts.push({ msn, index: k, part, last: k === ps.length - 1 }));
    if (ps.length > 0) {
      const sum = ps.reduce((a, x) => a + x.duration, 0);
      if (Math.abs(sum - s.duration) > 2e-3)
        bad.push(`${s.uri}: parts sum to ${sum.toFixed(5)}, EXTINF says ${s.duration}`);
    }
  });
  const trailingMsn = p.mediaSequence + skipped + p.segments.length;
  (p.trailingParts ?? []).forEach((part, k, all) =>
    // The open segment's last part may still turn out to be its final one.
    parts.push({ msn: trailingMsn, index: k, part, last: k === all.length - 1 }),
  );
  for (const { msn, index, part, last } of parts) {
    const m = prtName.exec(part.uri);
    if (!m || Number(m[1]) !== msn || Number(m[2]) !== index) {
      bad.push(`part ${part.uri} is not ${o.rendition}_${msn}.${index}.m4s`);
    }
    if (pt !== undefined) {
      // RFC 8216bis 4.4.4.9: "The duration of a Partial Segment MUST be less than or equal to the Part Target Duration."
      if (part.duration > pt + EPS) bad.push(`part ${part.uri} lasts ${part.duration} > PART-TARGET ${pt}`);
      // "... MUST be at least 85% of the Part Target Duration, with the exception of Partial
      // Segments with the INDEPENDENT=YES or GAP=YES attribute, ... and the final Partial Segment of any Parent Segment."
      if (!part.independent && !part.gap && !last && part.duration < 0.85 * pt - EPS) {
        bad.push(`part ${part.uri} lasts ${part.duration} < 85% of PART-TARGET ${pt}`);
      }
    }
    const media = o.independentOf?.(part.uri);
    if (media !== undefined && media !== (part.independent === true)) {
      bad.push(
        `part ${part.uri}: INDEPENDENT=${part.independent ? 'YES' : 'absent'} but the media ${media ? 'starts' : 'does not start'} with a keyframe`,
      );
    }
    if (o.kind === 'audio' && !part.independent) bad.push(`audio part ${part.uri} without INDEPENDENT=YES`);
    if (o.kind === 'video' && index === 0 && !part.independent)
      bad.push(`video part ${part.uri} starts a segment but is not INDEPENDENT`);
  }
  if (parts.length === 0 && !ended && p.segments.length > 0)
    bad.push('no EXT-X-PART at all in a live playlist');
  // Parts older than three target durations may go (6.2.2), but the recent ones must be
  // there: every segment that ends less than two target durations from the end lists its parts.
  if (!ended) {
    let after = (p.trailingParts ?? []).reduce((a, x) => a + x.duration, 0);
    for (let i = p.segments.length - 1; i >= 0; i--) {
      const seg = p.segments[i]!;
      if (after < 2 * td - 1e-3 && !seg.gap && !seg.parts?.length) {
        bad.push(`${seg.uri} ends ${after.toFixed(3)} s from the end but lists no parts`);
      }
      after += seg.duration;
    }
  }

  // EXT-X-PRELOAD-HINT: exactly one, for the part after the last one listed; none after the end.
  const hints = count(text, '#EXT-X-PRELOAD-HINT');
  if (ended) {
    if (hints !== 0) bad.push('EXT-X-PRELOAD-HINT after EXT-X-ENDLIST');
  } else if (hints !== 1) {
    bad.push(`${hints} EXT-X-PRELOAD-HINT tags (want exactly one)`);
  } else if (p.preloadHint?.type !== 'PART') {
    bad.push('EXT-X-PRELOAD-HINT is not TYPE=PART');
  } else {
    const last = parts[parts.length - 1];
    const h = prtName.exec(p.preloadHint.uri);
    const trailing = p.trailingParts?.length ?? 0;
    const want = trailing > 0 ? { msn: trailingMsn, index: trailing } : { msn: trailingMsn, index: 0 };
    // Or, when the open segment is about to end, the next segment's first part.
    const nextSegment = trailing > 0 && h !== null && Number(h[1]) === want.msn + 1 && Number(h[2]) === 0;
    if (!nextSegment && (!h || Number(h[1]) !== want.msn || Number(h[2]) !== want.index)) {
      bad.push(
        `EXT-X-PRELOAD-HINT ${p.preloadHint.uri} is not the next part (${o.rendition}_${want.msn}.${want.index}.m4s)`,
      );
    }
    if (last === undefined && p.segments.length > 0) bad.push('a preload hint but no part listed');
  }

  // EXT-X-RENDITION-REPORT for every other rendition.
  const reports = p.renditionReports ?? [];
  for (const r of o.renditions) {
    if (r === o.rendition) continue;
    const mine = reports.filter((x) => x.uri === `${r}.m3u8`);
    if (mine.length !== 1) bad.push(`${mine.length} EXT-X-RENDITION-REPORT for ${r}.m3u8 (want one)`);
    for (const x of mine) {
      if (!(x.lastMsn !== undefined && x.lastMsn >= 1)) bad.push(`report ${x.uri}: LAST-MSN ${x.lastMsn}`);
      if (!(x.lastPart !== undefined && x.lastPart >= 0))
        bad.push(`report ${x.uri}: LAST-PART ${x.lastPart}`);
    }
  }
  if (reports.some((x) => x.uri === `${o.rendition}.m3u8`)) bad.push('a rendition report about itself');

  // The window: at least minWindow complete segments once that many exist.
  const minWindow = o.minWindow ?? 6;
  const lastMsn = p.mediaSequence + skipped + p.segments.length - 1;
  const listed = skipped + p.segments.length;
  if (lastMsn >= minWindow && listed < minWindow)
    bad.push(`window of ${listed} segments (want >= ${minWindow})`);

  if (bad.length > 0) throw new LlhlsError(bad, text);
  return p;
}

interface Seen {
  uri: string;
  duration: number;
  /** Discontinuity sequence number of the segment. */
  dsn: number;
}

/**
 * Checks successive reloads of one rendition's playlist: the rules of checkMediaPlaylist
 * on each, and across them: MEDIA-SEQUENCE and the last msn never go back, TARGETDURATION
 * never changes, a segment keeps its URI, duration and discontinuity number, a delta
 * update only skips segments the previous reload had, ENDLIST stays.
 */
export class LlhlsTracker {
  readonly #o: MediaCheckOptions;
  readonly #seen = new Map<number, Seen>();
  #mediaSequence = 0;
  #lastMsn = 0;
  #targetDuration: number | null = null;
  #ended = false;
  reloads = 0;

  constructor(o: MediaCheckOptions) {
    this.#o = o;
  }

  check(text: string, extra: Partial<MediaCheckOptions> = {}): MediaPlaylist {
    const p = checkMediaPlaylist(text, { ...this.#o, ...extra });
    const bad: string[] = [];
    const skipped = p.skip?.skippedSegments ?? 0;
    if (p.mediaSequence < this.#mediaSequence)
      bad.push(`MEDIA-SEQUENCE went back: ${this.#mediaSequence} → ${p.mediaSequence}`);
    const lastMsn = p.mediaSequence + skipped + p.segments.length - 1;
    if (lastMsn < this.#lastMsn) bad.push(`last msn went back: ${this.#lastMsn} → ${lastMsn}`);
    if (this.#targetDuration !== null && p.targetDuration !== this.#targetDuration) {
      bad.push(`TARGETDURATION changed: ${this.#targetDuration} → ${p.targetDuration}`);
    }
    // ENDLIST stays, unless a new session of the stream starts a fresh window after it.
    const fresh = p.mediaSequence > this.#lastMsn;
    if (this.#ended && !p.endList && !fresh) bad.push('EXT-X-ENDLIST went away');
    if (skipped > 0) {
      for (let msn = p.mediaSequence; msn < p.mediaSequence + skipped; msn++) {
        if (!this.#seen.has(msn)) bad.push(`delta update skipped msn ${msn}, which no earlier reload listed`);
      }
    }
    // Discontinuity numbers of listed segments (delta: counted from what was skipped, known from before).
    let dsn = p.discontinuitySequence ?? 0;
    if (skipped > 0) {
      const lastSkipped = this.#seen.get(p.mediaSequence + skipped - 1);
      if (lastSkipped) dsn = lastSkipped.dsn;
      else dsn = Number.NaN;
    }
    p.segments.forEach((s, i) => {
      const msn = p.mediaSequence + skipped + i;
      if (s.discontinuity) dsn++;
      const before = this.#seen.get(msn);
      if (before) {
        if (before.uri !== s.uri) bad.push(`msn ${msn} changed URI: ${before.uri} → ${s.uri}`);
        if (Math.abs(before.duration - s.duration) > EPS) bad.push(`msn ${msn} changed duration`);
        if (!Number.isNaN(dsn) && before.dsn !== dsn)
          bad.push(`msn ${msn} changed discontinuity number: ${before.dsn} → ${dsn}`);
      }
      this.#seen.set(msn, { uri: s.uri, duration: s.duration, dsn });
    });
    if (bad.length > 0) throw new LlhlsError(bad, text);
    this.#mediaSequence = p.mediaSequence;
    this.#lastMsn = Math.max(this.#lastMsn, lastMsn);
    this.#targetDuration = p.targetDuration;
    this.#ended = p.endList === true || (this.#ended && !fresh);
    this.reloads++;
    return p;
  }
}

export interface MultivariantCheckOptions {
  /** Video renditions that must each be a variant. */
  video: readonly string[];
  /** The audio rendition, if the ladder has one. */
  audio?: string;
}

const VIDEO_CODEC = /^(avc1|avc3|hvc1|hev1|av01)\./;
const AUDIO_CODEC = /^(mp4a\.40\.\d+|opus|ac-3|ec-3|fLaC)$/;

/** Checks a live Multivariant Playlist; returns it parsed. */
export function checkMultivariantPlaylist(text: string, o: MultivariantCheckOptions): MultivariantPlaylist {
  const bad: string[] = [];
  let p: MultivariantPlaylist;
  try {
    p = parseMultivariantPlaylist(text);
  } catch (e) {
    throw new LlhlsError([`does not parse: ${(e as Error).message}`], text);
  }
  if (!p.independentSegments) bad.push('EXT-X-INDEPENDENT-SEGMENTS missing');
  const audio = p.renditions.filter((r) => r.type === 'AUDIO');
  if (o.audio) {
    if (audio.length !== 1) bad.push(`${audio.length} audio EXT-X-MEDIA (want one)`);
    for (const a of audio) {
      if (a.uri !== `${o.audio}.m3u8`) bad.push(`audio URI ${a.uri}`);
      if (!a.name) bad.push('audio NAME missing');
      if (!a.language) bad.push('audio LANGUAGE missing');
      if (a.default !== true || a.autoselect !== true) bad.push('audio is not DEFAULT=YES,AUTOSELECT=YES');
      if (!a.channels) bad.push('audio CHANNELS missing');
    }
  }
  const uris = p.variants.map((v) => v.uri);
  for (const r of o.video) if (!uris.includes(`${r}.m3u8`)) bad.push(`no variant for ${r}.m3u8`);
  if (new Set(uris).size !== uris.length) bad.push('a variant URI is listed twice');
  for (const v of p.variants) {
    if (!(v.bandwidth > 0)) bad.push(`${v.uri}: BANDWIDTH ${v.bandwidth}`);
    if (v.averageBandwidth === undefined || !(v.averageBandwidth > 0) || v.averageBandwidth > v.bandwidth) {
      bad.push(`${v.uri}: AVERAGE-BANDWIDTH ${v.averageBandwidth} (want 0 < it <= BANDWIDTH ${v.bandwidth})`);
    }
    const codecs = v.codecs ?? [];
    if (!codecs.some((c) => VIDEO_CODEC.test(c)))
      bad.push(`${v.uri}: no video codec in CODECS ${codecs.join(',')}`);
    if (o.audio && !codecs.some((c) => AUDIO_CODEC.test(c)))
      bad.push(`${v.uri}: no audio codec in CODECS ${codecs.join(',')}`);
    if (!v.resolution) bad.push(`${v.uri}: RESOLUTION missing`);
    if (!(v.frameRate && v.frameRate > 0)) bad.push(`${v.uri}: FRAME-RATE missing`);
    if (o.audio && !audio.some((a) => a.groupId === v.audio))
      bad.push(`${v.uri}: AUDIO group ${v.audio} has no EXT-X-MEDIA`);
  }
  // Largest picture first, in a stable order (players start on the first variant, and a
  // list that reorders between reloads confuses their level indexes); BANDWIDTH may be
  // raised by a measured peak without reordering.
  const area = (v: (typeof p.variants)[number]) =>
    v.resolution ? v.resolution.width * v.resolution.height : 0;
  for (let i = 1; i < p.variants.length; i++) {
    if (area(p.variants[i]!) > area(p.variants[i - 1]!)) bad.push('variants are not largest picture first');
  }
  // RFC 8216bis 4.4.6.2: CLOSED-CAPTIONS=NONE on one EXT-X-STREAM-INF means on all of them.
  if (
    /CLOSED-CAPTIONS=NONE/.test(text) &&
    (text.match(/CLOSED-CAPTIONS=NONE/g) ?? []).length !== p.variants.length
  )
    bad.push('CLOSED-CAPTIONS=NONE on some variants only');
  if (bad.length > 0) throw new LlhlsError(bad, text);
  return p;
}

import {
  Attrs,
  PlaylistError,
  float,
  formatAttributes,
  int,
  playlistLines,
  raw,
  splitTag,
  yesNo,
} from './attributes.js';

/** Multivariant Playlists (RFC 8216bis 4.4.6): EXT-X-MEDIA renditions and EXT-X-STREAM-INF variants. */

export type RenditionType = 'AUDIO' | 'VIDEO' | 'SUBTITLES' | 'CLOSED-CAPTIONS';

/** EXT-X-MEDIA (4.4.6.1). */
export interface Rendition {
  type: RenditionType;
  groupId: string;
  name: string;
  /** RFC 5646 tag; `und` when unknown. */
  language?: string;
  default?: boolean;
  autoselect?: boolean;
  /** Audio: channel count as a string ("2", "16/JOC"). */
  channels?: string;
  uri?: string;
}

/** EXT-X-STREAM-INF (4.4.6.2) and the URI line after it. */
export interface Variant {
  /** Peak segment bit rate, bits/s. */
  bandwidth: number;
  averageBandwidth?: number;
  /** RFC 6381 strings of every codec in the variant, audio rendition included. */
  codecs?: string[];
  resolution?: { width: number; height: number };
  frameRate?: number;
  /** GROUP-ID of the AUDIO renditions this variant plays with. */
  audio?: string;
  /**
   * `NONE`: the variant carries no closed captions. RFC 8216bis 4.4.6.2: "If the value is
   * NONE, all EXT-X-STREAM-INF tags MUST have this attribute with a value of NONE";
   * players (Shaka) otherwise probe the video for CEA-608/708 captions.
   */
  closedCaptions?: 'NONE';
  uri: string;
}

export interface MultivariantPlaylist {
  version?: number;
  independentSegments?: boolean;
  renditions: Rendition[];
  variants: Variant[];
}

export function renderMultivariantPlaylist(p: MultivariantPlaylist): string {
  const out = ['#EXTM3U'];
  if (p.version !== undefined) out.push(`#EXT-X-VERSION:${p.version}`);
  if (p.independentSegments) out.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const r of p.renditions) {
    // RFC 8216bis 4.4.6.1: "If the AUTOSELECT attribute is present, its value MUST be YES if the value of the DEFAULT attribute is YES."
    if (r.default && r.autoselect === false) {
      throw new PlaylistError(`rendition ${r.name}: DEFAULT=YES needs AUTOSELECT=YES`);
    }
    // RFC 8216bis 4.4.6.1: "If the TYPE is CLOSED-CAPTIONS, the URI attribute MUST NOT be present."
    if (r.type === 'CLOSED-CAPTIONS' && r.uri !== undefined) {
      throw new PlaylistError(`rendition ${r.name}: CLOSED-CAPTIONS cannot have a URI`);
    }
    out.push(
      `#EXT-X-MEDIA:${formatAttributes([
        ['TYPE', raw(r.type)],
        ['GROUP-ID', r.groupId],
        ['NAME', r.name],
        ['LANGUAGE', r.language],
        ['DEFAULT', r.default === undefined ? undefined : yesNo(r.default)],
        ['AUTOSELECT', r.autoselect === undefined ? undefined : yesNo(r.autoselect)],
        ['CHANNELS', r.channels],
        ['URI', r.uri],
      ])}`,
    );
  }
  const audioGroups = new Set(p.renditions.filter((r) => r.type === 'AUDIO').map((r) => r.groupId));
  for (const v of p.variants) {
    // RFC 8216bis 4.4.6.2: "If the AUDIO attribute is present, its value MUST match the
    // value of the GROUP-ID attribute of an EXT-X-MEDIA tag elsewhere in the
    // Multivariant Playlist whose TYPE attribute is AUDIO."
    if (v.audio !== undefined && !audioGroups.has(v.audio)) {
      throw new PlaylistError(`variant ${v.uri}: no AUDIO rendition in group ${v.audio}`);
    }
    if (/[\r\n]/.test(v.uri) || v.uri === '' || v.uri.startsWith('#'))
      throw new PlaylistError(`bad URI "${v.uri}"`);
    out.push(
      `#EXT-X-STREAM-INF:${formatAttributes([
        // RFC 8216bis 4.4.6.2: "Every EXT-X-STREAM-INF tag MUST include the BANDWIDTH attribute."
        ['BANDWIDTH', int(Math.round(v.bandwidth))],
        [
          'AVERAGE-BANDWIDTH',
          v.averageBandwidth === undefined ? undefined : int(Math.round(v.averageBandwidth)),
        ],
        ['CODECS', v.codecs?.join(',')],
        ['RESOLUTION', v.resolution ? raw(`${v.resolution.width}x${v.resolution.height}`) : undefined],
        ['FRAME-RATE', v.frameRate === undefined ? undefined : float(v.frameRate, 3)],
        ['AUDIO', v.audio],
        ['CLOSED-CAPTIONS', v.closedCaptions === undefined ? undefined : raw(v.closedCaptions)],
      ])}`,
      v.uri,
    );
  }
  return out.join('\n') + '\n';
}

function renditionType(s: string): RenditionType {
  if (s === 'AUDIO' || s === 'VIDEO' || s === 'SUBTITLES' || s === 'CLOSED-CAPTIONS') return s;
  throw new PlaylistError(`bad EXT-X-MEDIA TYPE ${s}`);
}

export function parseMultivariantPlaylist(text: string): MultivariantPlaylist {
  const p: MultivariantPlaylist = { renditions: [], variants: [] };
  let pending: Omit<Variant, 'uri'> | null = null;
  for (const line of playlistLines(text)) {
    if (!line.startsWith('#')) {
      if (!pending) throw new PlaylistError(`URI ${line} without EXT-X-STREAM-INF`);
      p.variants.push({ ...pending, uri: line });
      pending = null;
      continue;
    }
    const [tag, value] = splitTag(line);
    switch (tag) {
      case '#EXT-X-VERSION':
        if (p.version !== undefined) throw new PlaylistError('more than one EXT-X-VERSION');
        p.version = Number(value);
        break;
      case '#EXT-X-INDEPENDENT-SEGMENTS':
        p.independentSegments = true;
        break;
      case '#EXT-X-MEDIA': {
        const a = new Attrs(tag, value);
        const r: Rendition = {
          type: renditionType(a.requireStr('TYPE')),
          groupId: a.requireStr('GROUP-ID'),
          name: a.requireStr('NAME'),
        };
        const lang = a.str('LANGUAGE');
        if (lang !== undefined) r.language = lang;
        const def = a.bool('DEFAULT');
        if (def !== undefined) r.default = def;
        const auto = a.bool('AUTOSELECT');
        if (auto !== undefined) r.autoselect = auto;
        const ch = a.str('CHANNELS');
        if (ch !== undefined) r.channels = ch;
        const uri = a.str('URI');
        if (uri !== undefined) r.uri = uri;
        p.renditions.push(r);
        break;
      }
      case '#EXT-X-STREAM-INF': {
        const a = new Attrs(tag, value);
        const v: Omit<Variant, 'uri'> = { bandwidth: a.requireNum('BANDWIDTH') };
        const avg = a.num('AVERAGE-BANDWIDTH');
        if (avg !== undefined) v.averageBandwidth = avg;
        const codecs = a.str('CODECS');
        if (codecs !== undefined) v.codecs = codecs.split(',');
        const res = a.str('RESOLUTION');
        if (res !== undefined) {
          const m = /^(\d+)x(\d+)$/.exec(res);
          if (!m) throw new PlaylistError(`bad RESOLUTION ${res}`);
          v.resolution = { width: Number(m[1]), height: Number(m[2]) };
        }
        const fr = a.num('FRAME-RATE');
        if (fr !== undefined) v.frameRate = fr;
        const audio = a.str('AUDIO');
        if (audio !== undefined) v.audio = audio;
        pending = v;
        break;
      }
      default:
        break;
    }
  }
  if (pending) throw new PlaylistError('EXT-X-STREAM-INF without a URI at the end');
  return p;
}

import type { VideoCodec } from '../../core/media.js';
import { notAcceptable, unprocessable } from '../errors.js';
import {
  checkMediaLine,
  fmtpParams,
  offerTransport,
  parseOffer,
  reduceToCodec,
  rtpmaps,
  type RtcpFeedback,
} from '../sdp/offer.js';
import { attributeValue, hasFlag, serializeSdpText, type SdpMedia } from '../sdp/sdp-text.js';

/** What is being published, as far as choosing a viewer's payload type goes. */
export interface PublishedCodecs {
  video: { codec: VideoCodec; profileLevelId?: string | undefined; profileIdc?: number | undefined } | null;
  audio: { codec: 'opus' } | null;
}

/** One m-line of a viewer's offer and the payload type chosen in it (null: nothing to send there). */
export interface ViewerTrackChoice {
  mid: string;
  kind: 'video' | 'audio';
  /** Null: the stream has no such track; the m-line is answered but carries nothing. */
  payloadType: number | null;
  clockRate: number;
  feedback: RtcpFeedback;
  /** H.264: the chosen payload type names the published profile (or one that contains it). */
  profileMatch?: boolean;
}

export interface NegotiatedViewerOffer {
  /** The offer reduced to the chosen payload type per m-line (so werift answers exactly that). */
  sdp: string;
  video: ViewerTrackChoice | null;
  audio: ViewerTrackChoice | null;
  bundleMid: string;
  iceUfrag: string;
  icePwd: string;
}

/** profile_idc values that decode a stream of profile_idc `p` (baseline < main < high). */
function profileRank(plid: string | undefined): { idc: number; constrainedBaseline: boolean } | null {
  if (!plid || !/^[0-9a-f]{6}$/i.test(plid)) return null;
  const idc = parseInt(plid.slice(0, 2), 16);
  const iop = parseInt(plid.slice(2, 4), 16);
  return { idc, constrainedBaseline: idc === 0x42 && (iop & 0x40) !== 0 };
}

const ORDER: Record<number, number> = { 0x42: 1, 0x4d: 2, 0x58: 2, 0x64: 3 };

/**
 * How well a viewer's H.264 payload type (profile-level-id) fits the published one:
 * 3 the same profile, 2 a profile that contains it (constrained baseline in main or high,
 * main in high), 1 any other (decoders in browsers decode every profile; taken last).
 */
export function h264ProfileScore(published: string | undefined, offered: string | undefined): number {
  const p = profileRank(published);
  const o = profileRank(offered ?? '42001f');
  if (!p || !o) return 2; // not known yet (no SPS seen): any packetization-mode=1 type will do
  if (p.idc === o.idc) return 3;
  const pRank = p.constrainedBaseline ? 0 : (ORDER[p.idc] ?? 9);
  const oRank = ORDER[o.idc] ?? 0;
  return oRank >= pRank ? 2 : 1;
}

function chooseVideo(
  media: SdpMedia,
  published: NonNullable<PublishedCodecs['video']>,
): { pt: number; profileMatch?: boolean } | null {
  const maps = rtpmaps(media.lines);
  let best: { pt: number; score: number } | null = null;
  for (const f of media.formats) {
    const pt = Number(f);
    const map = maps.get(pt);
    if (!map || map.clockRate !== 90000 || map.name !== published.codec) continue;
    const params = fmtpParams(media.lines, pt);
    if (published.codec === 'vp8') return { pt };
    if (published.codec === 'vp9') {
      if ((params.get('profile-id') ?? '0') === '0') return { pt };
      continue;
    }
    if (published.codec === 'h265' || published.codec === 'av1') {
      const score = sameProfileScore(published.codec, published.profileIdc, params);
      if (score > 0 && (!best || score > best.score)) best = { pt, score };
      continue;
    }
    if (params.get('packetization-mode') !== '1') continue;
    const score = h264ProfileScore(published.profileLevelId, params.get('profile-level-id'));
    if (!best || score > best.score) best = { pt, score };
  }
  return best ? { pt: best.pt, profileMatch: best.score >= 2 } : null;
}

/**
 * H.265 (RFC 7798 7.1: profile-id, default 1) and AV1 (AV1 RTP spec 7.2: profile,
 * default 0): 2 when the payload type names the published profile (or it is not known
 * yet), 1 for another profile (a decoder may still take it; chosen last), 0 for an H.265
 * type this sender cannot feed (DONL fields, several RTP sessions).
 */
function sameProfileScore(
  codec: 'h265' | 'av1',
  published: number | undefined,
  params: Map<string, string>,
): number {
  if (codec === 'h265') {
    if (Number(params.get('sprop-max-don-diff') ?? '0') > 0 || (params.get('tx-mode') ?? 'SRST') !== 'SRST')
      return 0;
  }
  const offered = Number(
    params.get(codec === 'h265' ? 'profile-id' : 'profile') ?? (codec === 'h265' ? '1' : '0'),
  );
  return published === undefined || offered === published ? 2 : 1;
}

function chooseAudio(media: SdpMedia): number | null {
  const maps = rtpmaps(media.lines);
  for (const f of media.formats) {
    const map = maps.get(Number(f));
    if (map && map.name === 'opus' && map.clockRate === 48000 && map.channels === 2) return Number(f);
  }
  return null;
}

const CODEC_NAMES: Record<VideoCodec, string> = {
  h264: 'H.264',
  h265: 'H.265',
  av1: 'AV1',
  vp8: 'VP8',
  vp9: 'VP9',
};

function describe(published: PublishedCodecs): string {
  const v = published.video;
  const video = v
    ? v.codec === 'h264'
      ? `H.264 packetization-mode=1${v.profileLevelId ? ` (profile-level-id ${v.profileLevelId})` : ''}`
      : `${CODEC_NAMES[v.codec]}${v.profileIdc !== undefined ? ` (profile ${v.profileIdc})` : ''}`
    : 'no video';
  return `this stream is ${video} and ${published.audio ? 'Opus 48000/2' : 'no audio'}`;
}

/** The video codecs of a viewer's m-line, for the 406 text. */
function offeredVideo(media: SdpMedia): string {
  const names = [...rtpmaps(media.lines).values()].map((m) => m.name.toUpperCase());
  return [...new Set(names)].filter((n) => n !== 'RTX' && n !== 'RED' && n !== 'ULPFEC').join(', ') || 'none';
}

/**
 * Checks a WHEP offer (draft-ietf-wish-whep: at most one audio and one video m-line,
 * max-bundle, recvonly or sendrecv) and picks in each m-line the payload type that carries
 * the published codec (WHEP passes the publisher's RTP through: no other codec can be
 * sent). Throws `bad_request` for invalid SDP, 422 for an offer WHEP does not take, 406
 * when the viewer cannot take what is published (the text names what that is).
 */
export function negotiateViewerOffer(text: string, published: PublishedCodecs): NegotiatedViewerOffer {
  const sdp = parseOffer(text);
  for (const m of sdp.media) {
    if (m.kind !== 'audio' && m.kind !== 'video')
      throw unprocessable(`m=${m.kind} is not supported; WHEP carries audio and video`);
  }
  const videos = sdp.media.filter((m) => m.kind === 'video');
  const audios = sdp.media.filter((m) => m.kind === 'audio');
  if (sdp.media.length === 0) throw unprocessable('the offer has no audio or video m-line');
  if (videos.length > 1 || audios.length > 1)
    throw unprocessable(
      `the offer has ${videos.length} video and ${audios.length} audio m-lines; at most one each`,
    );
  const mids = new Set<string>();
  for (const m of sdp.media) {
    checkMediaLine(m, mids);
    if (hasFlag(m.lines, 'sendonly') || hasFlag(m.lines, 'inactive'))
      throw unprocessable(`m=${m.kind} is not recvonly: a WHEP viewer receives media`);
  }
  const transport = offerTransport(
    sdp,
    sdp.media,
    mids,
    'the m-lines must share one transport (a=group:BUNDLE with every mid)',
  );

  let video: ViewerTrackChoice | null = null;
  let audio: ViewerTrackChoice | null = null;
  const noFeedback: RtcpFeedback = { nack: false, pli: false, fir: false };
  const reduced = sdp.media.map((m) => {
    const mid = attributeValue(m.lines, 'mid')!;
    if (m.kind === 'video') {
      if (!published.video) {
        video = { mid, kind: 'video', payloadType: null, clockRate: 90000, feedback: noFeedback };
        return m;
      }
      const pick = chooseVideo(m, published.video);
      if (!pick)
        throw notAcceptable(
          `no payload type in m=video carries the stream's video (offered: ${offeredVideo(m)}); ${describe(published)}, passed through as published`,
        );
      const r = reduceToCodec(m, pick.pt, ['goog-remb']);
      video = { mid, kind: 'video', payloadType: pick.pt, clockRate: 90000, feedback: r.feedback };
      if (pick.profileMatch !== undefined) video.profileMatch = pick.profileMatch;
      return r.media;
    }
    if (!published.audio) {
      audio = { mid, kind: 'audio', payloadType: null, clockRate: 48000, feedback: noFeedback };
      return m;
    }
    const pt = chooseAudio(m);
    if (pt === null)
      throw notAcceptable(`no payload type in m=audio carries Opus 48000/2; ${describe(published)}`);
    const r = reduceToCodec(m, pt);
    audio = { mid, kind: 'audio', payloadType: pt, clockRate: 48000, feedback: r.feedback };
    return r.media;
  });
  return {
    sdp: serializeSdpText({ session: sdp.session, media: reduced }),
    video,
    audio,
    ...transport,
  };
}

import type { VideoCodec } from '../../core/media.js';
import { AppError } from '../../core/errors.js';
import { unprocessable } from '../errors.js';
import { simulcastLayers, simulcastMedia } from './simulcast.js';
import {
  attributeValue,
  attributeValues,
  hasFlag,
  parseSdpDocument,
  SdpSyntaxError,
  serializeSdpText,
  type SdpMedia,
  type SdpText,
} from './sdp-text.js';

/** The RTCP feedback a track negotiated (RFC 4585, RFC 5104). */
export interface RtcpFeedback {
  nack: boolean;
  pli: boolean;
  fir: boolean;
}

export interface NegotiatedVideo {
  mid: string;
  codec: VideoCodec;
  payloadType: number;
  feedback: RtcpFeedback;
  /** H.265: VPS, SPS and PPS given out of band (sprop-vps, sprop-sps, sprop-pps), NAL units. */
  parameterSets: Buffer[];
  /** Simulcast: the layers' rids (a=simulcast:send order); [] for one encoding. */
  rids: string[];
}

export interface NegotiatedAudio {
  mid: string;
  codec: 'opus';
  payloadType: number;
  /** RFC 7587: always 2 in the rtpmap; the stream may still be mono. */
  channels: 2;
  feedback: RtcpFeedback;
}

/** A WHIP offer that ingest can take, and what was chosen from it. */
export interface NegotiatedOffer {
  /**
   * The offer as the peer connection gets it: each m-line reduced to the one codec chosen,
   * with only the RTCP feedback ingest uses, so the answer says exactly what will be used.
   */
  sdp: string;
  video: NegotiatedVideo | null;
  audio: NegotiatedAudio | null;
  /** The m-line whose transport the bundle uses (the first mid of a=group:BUNDLE). */
  bundleMid: string;
  /** The publisher's ICE credentials. */
  iceUfrag: string;
  icePwd: string;
}

export const SUPPORTED_CODECS_TEXT =
  'supported: video H.264 (packetization-mode=1, any profile), H.265 (tx-mode SRST, no sprop-max-don-diff), ' +
  'AV1, VP8 or VP9 (profile 0), one encoding or simulcast (a=simulcast:send, up to 4 rids); audio Opus 48000/2; ' +
  'at most one video and one audio m-line, at least one of them';

const MID = /^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]{1,32}$/;
/** RFC 8839 ice-char; lengths are checked loosely (some stacks use short passwords). */
const ICE_UFRAG = /^[A-Za-z0-9+/]{1,256}$/;
const ICE_PWD = /^[A-Za-z0-9+/]{1,256}$/;
const PROTO = /^(UDP\/TLS\/RTP\/SAVPF|UDP\/DTLS\/RTP\/SAVPF|RTP\/SAVPF)$/i;

const bad = (message: string) => new AppError('bad_request', message);
const unsupported = (message: string) => unprocessable(message);

export interface Rtpmap {
  name: string;
  clockRate: number;
  channels: number | null;
}

export function rtpmaps(lines: readonly string[]): Map<number, Rtpmap> {
  const out = new Map<number, Rtpmap>();
  for (const v of attributeValues(lines, 'rtpmap')) {
    const m = /^(\d{1,3}) ([A-Za-z0-9_.-]+)\/(\d+)(?:\/(\d+))?$/.exec(v);
    if (!m) throw bad(`malformed a=rtpmap:${v.slice(0, 60)}`);
    out.set(Number(m[1]), {
      name: m[2]!.toLowerCase(),
      clockRate: Number(m[3]),
      channels: m[4] === undefined ? null : Number(m[4]),
    });
  }
  return out;
}

export function fmtpParams(lines: readonly string[], pt: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of attributeValues(lines, 'fmtp')) {
    const sp = v.indexOf(' ');
    if (sp < 0 || v.slice(0, sp) !== String(pt)) continue;
    for (const kv of v.slice(sp + 1).split(';')) {
      const eq = kv.indexOf('=');
      if (eq > 0) out.set(kv.slice(0, eq).trim().toLowerCase(), kv.slice(eq + 1).trim());
    }
  }
  return out;
}

/** The offered codecs of an m-line, by name, for the error message. */
function describeOffered(media: SdpMedia, maps: Map<number, Rtpmap>): string {
  const names = media.formats.map((f) => {
    const map = maps.get(Number(f));
    if (!map) return `pt ${f}`;
    const params = fmtpParams(media.lines, Number(f));
    if (map.name === 'h264') return `H264 packetization-mode=${params.get('packetization-mode') ?? '0'}`;
    if (map.name === 'h265' && !h265Usable(params)) {
      return `H265 ${[...params].map(([k, v]) => `${k}=${v}`).join(';')}`;
    }
    return map.name.toUpperCase();
  });
  return [...new Set(names)].join(', ');
}

function chooseVideo(media: SdpMedia, maps: Map<number, Rtpmap>): { pt: number; codec: VideoCodec } | null {
  for (const f of media.formats) {
    const pt = Number(f);
    const map = maps.get(pt);
    if (!map || map.clockRate !== 90000) continue;
    const params = fmtpParams(media.lines, pt);
    if (map.name === 'h264' && params.get('packetization-mode') === '1') return { pt, codec: 'h264' };
    if (map.name === 'h265' && h265Usable(params)) return { pt, codec: 'h265' };
    if (map.name === 'av1' && Number(params.get('profile') ?? '0') <= 2) return { pt, codec: 'av1' };
    if (map.name === 'vp8') return { pt, codec: 'vp8' };
    if (map.name === 'vp9' && (params.get('profile-id') ?? '0') === '0') return { pt, codec: 'vp9' };
  }
  return null;
}

/**
 * RFC 7798 7.1: with sprop-max-don-diff > 0 every NAL unit carries a decoding order
 * number and may arrive out of decoding order; ingest takes only the plain order. MRST
 * and MRMT spread one stream over several RTP sessions; WebRTC uses SRST.
 */
function h265Usable(params: Map<string, string>): boolean {
  return (
    Number(params.get('sprop-max-don-diff') ?? '0') === 0 && (params.get('tx-mode') ?? 'SRST') === 'SRST'
  );
}

const H265_SPROP = { 'sprop-vps': 32, 'sprop-sps': 33, 'sprop-pps': 34 } as const;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/;

/**
 * H.265 parameter sets given in the fmtp (RFC 7798 7.1: sprop-vps, sprop-sps, sprop-pps,
 * each a comma-separated list of base64 NAL units). A value that is not base64 of the
 * named NAL unit type is `bad_request`.
 */
export function h265ParameterSets(params: Map<string, string>): Buffer[] {
  const out: Buffer[] = [];
  for (const [name, type] of Object.entries(H265_SPROP)) {
    const value = params.get(name);
    if (value === undefined) continue;
    for (const item of value.split(',')) {
      const nal = BASE64.test(item) ? Buffer.from(item, 'base64') : null;
      if (!nal || nal.length < 3 || ((nal[0]! >> 1) & 0x3f) !== type) {
        throw bad(`${name} does not hold base64 NAL units of type ${type}`);
      }
      out.push(nal);
    }
  }
  return out;
}

function chooseAudio(media: SdpMedia, maps: Map<number, Rtpmap>): number | null {
  for (const f of media.formats) {
    const pt = Number(f);
    const map = maps.get(pt);
    if (map && map.name === 'opus' && map.clockRate === 48000 && map.channels === 2) return pt;
  }
  return null;
}

const KEPT_FEEDBACK = new Set(['nack', 'nack pli', 'ccm fir']);

/**
 * The m-line reduced to one payload type: its rtpmap and fmtp, and of its rtcp-fb only
 * NACK, PLI and FIR (ingest implements those; advertising REMB or transport-cc would make
 * a sender wait for feedback that never comes). RTX and FEC streams go with their codecs.
 */
export function reduceToCodec(
  media: SdpMedia,
  pt: number,
  /** More rtcp-fb kept (WHEP: `goog-remb`, the viewer's bandwidth estimate rung mode follows). */
  alsoKept: readonly string[] = [],
): { media: SdpMedia; feedback: RtcpFeedback } {
  const feedback: RtcpFeedback = { nack: false, pli: false, fir: false };
  const groups = attributeValues(media.lines, 'ssrc-group');
  const secondary = new Set<string>();
  for (const g of groups) for (const ssrc of g.split(' ').slice(2)) secondary.add(ssrc);
  const lines: string[] = [];
  for (const line of media.lines) {
    const ptAttr = /^a=(rtpmap|fmtp|rtcp-fb):(\*|\d+) ?(.*)$/.exec(line);
    if (ptAttr) {
      const [, name, linePt, rest] = ptAttr;
      if (linePt !== '*' && Number(linePt) !== pt) continue;
      if (name === 'rtcp-fb') {
        const fb = rest!.trim().toLowerCase().replace(/\s+/g, ' ');
        if (!KEPT_FEEDBACK.has(fb) && !alsoKept.includes(fb)) continue;
        if (fb === 'nack') feedback.nack = true;
        if (fb === 'nack pli') feedback.pli = true;
        if (fb === 'ccm fir') feedback.fir = true;
        lines.push(`a=rtcp-fb:${pt} ${fb}`);
        continue;
      }
      lines.push(line);
      continue;
    }
    if (line.startsWith('a=ssrc-group:')) continue;
    const ssrc = /^a=ssrc:(\d+) /.exec(line);
    if (ssrc && secondary.has(ssrc[1]!)) continue;
    lines.push(line);
  }
  return { media: { ...media, formats: [String(pt)], lines }, feedback };
}

export function iceCredentials(sdp: SdpText, media: SdpMedia): { ufrag: string; pwd: string } {
  const ufrag = attributeValue(media.lines, 'ice-ufrag') ?? attributeValue(sdp.session, 'ice-ufrag');
  const pwd = attributeValue(media.lines, 'ice-pwd') ?? attributeValue(sdp.session, 'ice-pwd');
  if (ufrag === undefined || pwd === undefined) throw bad('the offer has no a=ice-ufrag and a=ice-pwd');
  if (!ICE_UFRAG.test(ufrag) || !ICE_PWD.test(pwd))
    throw bad('a=ice-ufrag or a=ice-pwd has invalid characters');
  return { ufrag, pwd };
}

/** Parses an offer; a syntax error is `bad_request`. */
export function parseOffer(text: string): SdpText {
  try {
    return parseSdpDocument(text);
  } catch (e) {
    if (e instanceof SdpSyntaxError) throw bad(e.message);
    throw e;
  }
}

/**
 * What every WHIP and WHEP m-line needs: a unique, valid a=mid, a WebRTC profile and
 * numeric formats. Adds the mid to `mids`.
 */
export function checkMediaLine(m: SdpMedia, mids: Set<string>): void {
  const mid = attributeValue(m.lines, 'mid');
  if (mid === undefined) throw bad(`m=${m.kind} has no a=mid`);
  if (!MID.test(mid)) throw bad(`a=mid:${mid.slice(0, 40)} is not a valid identifier`);
  if (mids.has(mid)) throw bad(`a=mid:${mid} appears twice`);
  mids.add(mid);
  if (!PROTO.test(m.proto)) throw unsupported(`m=${m.kind} uses ${m.proto}; WebRTC needs UDP/TLS/RTP/SAVPF`);
  for (const f of m.formats)
    if (!/^\d{1,3}$/.test(f) || Number(f) > 127) throw bad(`m=${m.kind} has format "${f}"`);
}

/**
 * The offer's one transport (max-bundle): every m-line in one BUNDLE group, the bundle's
 * ICE credentials and a DTLS fingerprint. `bundleMessage`: the 422 text when not bundled.
 */
export function offerTransport(
  sdp: SdpText,
  media: readonly SdpMedia[],
  mids: ReadonlySet<string>,
  bundleMessage: string,
): { bundleMid: string; iceUfrag: string; icePwd: string } {
  const bundle = attributeValues(sdp.session, 'group')
    .map((g) => g.split(' ').filter(Boolean))
    .find((g) => g[0] === 'BUNDLE');
  const bundleMids = bundle?.slice(1) ?? [];
  if (media.length > 1 && ![...mids].every((mid) => bundleMids.includes(mid)))
    throw unsupported(bundleMessage);
  const bundleMid = bundleMids.find((mid) => mids.has(mid)) ?? [...mids][0]!;
  const bundleMedia = media.find((m) => attributeValue(m.lines, 'mid') === bundleMid)!;
  const ice = iceCredentials(sdp, bundleMedia);
  const fingerprint =
    attributeValue(bundleMedia.lines, 'fingerprint') ?? attributeValue(sdp.session, 'fingerprint');
  if (fingerprint === undefined) throw bad('the offer has no a=fingerprint (DTLS is required)');
  return { bundleMid, iceUfrag: ice.ufrag, icePwd: ice.pwd };
}

/**
 * Checks a WHIP offer (RFC 9725 4.2: one audio and/or one video m-line, max-bundle, sendonly)
 * and picks the codec of each m-line in the publisher's order of preference. Throws an
 * AppError: `bad_request` when the offer is not valid SDP or lacks what WebRTC needs,
 * `unprocessable` when it is valid but asks for what ingest does not support.
 */
export function negotiateOffer(text: string): NegotiatedOffer {
  const sdp = parseOffer(text);
  const av = sdp.media.filter((m) => m.kind === 'audio' || m.kind === 'video');
  for (const m of sdp.media) {
    if (m.kind === 'application')
      throw unsupported('data channels are not supported; WHIP carries audio and video');
    if (m.kind !== 'audio' && m.kind !== 'video')
      throw unsupported(`m=${m.kind} is not supported; ${SUPPORTED_CODECS_TEXT}`);
  }
  const videos = av.filter((m) => m.kind === 'video');
  const audios = av.filter((m) => m.kind === 'audio');
  if (av.length === 0) throw unsupported(`the offer has no audio or video m-line; ${SUPPORTED_CODECS_TEXT}`);
  if (videos.length > 1 || audios.length > 1) {
    throw unsupported(
      `the offer has ${videos.length} video and ${audios.length} audio m-lines; ${SUPPORTED_CODECS_TEXT}`,
    );
  }

  const mids = new Set<string>();
  for (const m of av) {
    checkMediaLine(m, mids);
    if (hasFlag(m.lines, 'recvonly') || hasFlag(m.lines, 'inactive')) {
      throw unsupported(`m=${m.kind} is not sendonly: a WHIP publisher sends media`);
    }
    const simulcast = m.kind === 'video' && simulcastLayers(m).length > 0;
    if (m.kind === 'audio' && attributeValues(m.lines, 'simulcast').length > 0) {
      throw unsupported('m=audio offers simulcast; audio is one encoding');
    }
    if (!simulcast && attributeValues(m.lines, 'ssrc').length === 0) {
      throw unsupported(`m=${m.kind} has no a=ssrc line; ingest identifies each stream by its SSRC`);
    }
  }
  const transport = offerTransport(
    sdp,
    av,
    mids,
    'the m-lines must share one transport (a=group:BUNDLE with every mid): WHIP uses max-bundle',
  );

  let video: NegotiatedVideo | null = null;
  let audio: NegotiatedAudio | null = null;
  const reduced = sdp.media.map((m) => {
    const maps = rtpmaps(m.lines);
    const mid = attributeValue(m.lines, 'mid')!;
    if (m.kind === 'video') {
      const pick = chooseVideo(m, maps);
      if (!pick)
        throw unsupported(
          `no supported codec in m=video (offered: ${describeOffered(m, maps)}); ${SUPPORTED_CODECS_TEXT}`,
        );
      const r = reduceToCodec(m, pick.pt);
      const parameterSets = pick.codec === 'h265' ? h265ParameterSets(fmtpParams(m.lines, pick.pt)) : [];
      const rids = simulcastLayers(m);
      video = { mid, codec: pick.codec, payloadType: pick.pt, feedback: r.feedback, parameterSets, rids };
      return rids.length > 0 ? simulcastMedia(r.media, rids) : r.media;
    }
    const pt = chooseAudio(m, maps);
    if (pt === null)
      throw unsupported(
        `no supported codec in m=audio (offered: ${describeOffered(m, maps)}); ${SUPPORTED_CODECS_TEXT}`,
      );
    const r = reduceToCodec(m, pt);
    audio = { mid, codec: 'opus', payloadType: pt, channels: 2, feedback: r.feedback };
    return r.media;
  });

  return {
    sdp: serializeSdpText({ session: sdp.session, media: reduced }),
    video,
    audio,
    ...transport,
  };
}

import { AppError } from '../../core/errors.js';
import { attributeValue, parseSdpText, SdpSyntaxError } from './sdp-text.js';

/** A remote candidate from a trickle fragment, with the m-line it was given for. */
export interface FragmentCandidate {
  /** `candidate:...` as in the a= line (without `a=`). */
  candidate: string;
  /** The a=mid of the m-section it sits in; null when it sits before any m-line. */
  mid: string | null;
}

/** An `application/trickle-ice-sdpfrag` body (RFC 8840 section 9, RFC 9725 4.3.1). */
export interface IceFragment {
  ufrag: string | undefined;
  pwd: string | undefined;
  candidates: FragmentCandidate[];
  endOfCandidates: boolean;
}

/** More than this in one PATCH is not a client trickling its candidates. */
export const MAX_FRAGMENT_CANDIDATES = 64;

/** RFC 8839 5.1 candidate-attribute, loosely: foundation, component, transport, priority, address, port, typ. */
const CANDIDATE =
  /^candidate:[A-Za-z0-9+/]{1,32} \d{1,5} [A-Za-z]{1,16} \d{1,10} [A-Za-z0-9.:%_-]{1,255} \d{1,5} typ (host|srflx|prflx|relay)(?: [^\r\n]*)?$/;
const ICE_CHARS = /^[A-Za-z0-9+/]{1,256}$/;

const bad = (message: string) => new AppError('bad_request', message);

export function parseIceFragment(text: string): IceFragment {
  let lines: string[];
  let media: { mid: string | undefined; lines: string[] }[];
  try {
    const sdp = parseSdpText(text, 'fragment');
    lines = sdp.session;
    media = sdp.media.map((m) => ({ mid: attributeValue(m.lines, 'mid'), lines: m.lines }));
  } catch (e) {
    if (e instanceof SdpSyntaxError) throw bad(e.message);
    throw e;
  }
  const all = [...lines, ...media.flatMap((m) => m.lines)];
  const ufrag = attributeValue(all, 'ice-ufrag');
  const pwd = attributeValue(all, 'ice-pwd');
  if (ufrag !== undefined && !ICE_CHARS.test(ufrag)) throw bad('a=ice-ufrag has invalid characters');
  if (pwd !== undefined && !ICE_CHARS.test(pwd)) throw bad('a=ice-pwd has invalid characters');

  const candidates: FragmentCandidate[] = [];
  let endOfCandidates = false;
  const take = (sectionLines: readonly string[], mid: string | null) => {
    for (const line of sectionLines) {
      if (line === 'a=end-of-candidates') endOfCandidates = true;
      if (!line.startsWith('a=candidate:')) continue;
      const candidate = line.slice(2);
      if (!CANDIDATE.test(candidate)) throw bad(`not a valid ICE candidate: "${candidate.slice(0, 80)}"`);
      candidates.push({ candidate, mid });
    }
  };
  take(lines, null);
  for (const m of media) take(m.lines, m.mid ?? null);
  if (candidates.length > MAX_FRAGMENT_CANDIDATES) {
    throw bad(
      `the fragment has ${candidates.length} candidates; at most ${MAX_FRAGMENT_CANDIDATES} are taken`,
    );
  }
  return { ufrag, pwd, candidates, endOfCandidates };
}

/**
 * The server's fragment after an ICE restart (RFC 9725 4.3.2): the new credentials and
 * candidates, in the m-section of the bundle's mid (RFC 8840 9.1 shape).
 */
export function buildIceFragment(opts: {
  ufrag: string;
  pwd: string;
  kind: 'audio' | 'video';
  mid: string;
  candidates: readonly string[];
  endOfCandidates: boolean;
}): string {
  const lines = [
    `a=ice-ufrag:${opts.ufrag}`,
    `a=ice-pwd:${opts.pwd}`,
    `m=${opts.kind} 9 UDP/TLS/RTP/SAVPF 0`,
    `a=mid:${opts.mid}`,
    ...opts.candidates.map((c) => `a=${c}`),
    ...(opts.endOfCandidates ? ['a=end-of-candidates'] : []),
  ];
  return lines.join('\r\n') + '\r\n';
}

/**
 * SDP (RFC 8866) as lines: the session part and one part per m-line. Only the framing is
 * checked here (`<type>=<value>` lines, `v=0` first, m-line syntax); what the lines mean
 * is the caller's business. Serializing gives the lines back with CRLF, unchanged.
 */
export interface SdpMedia {
  kind: string;
  port: number;
  proto: string;
  formats: string[];
  /** The lines after the m-line, up to the next m-line. */
  lines: string[];
}

export interface SdpText {
  session: string[];
  media: SdpMedia[];
}

export class SdpSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdpSyntaxError';
  }
}

const LINE = /^[a-z]=/;

/** SDP is text, one field per line: no control characters but tab. */
function hasControlCharacters(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

const M_LINE = /^m=([a-z]+) (\d{1,5})(?:\/\d{1,5})? ([A-Za-z0-9/_.-]+)((?: [^ ]+)*)$/;

export function parseSdpText(text: string, what = 'SDP'): SdpText {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const sdp: SdpText = { session: [], media: [] };
  let current: SdpMedia | null = null;
  for (const [i, line] of lines.entries()) {
    if (!LINE.test(line) || hasControlCharacters(line)) {
      throw new SdpSyntaxError(`${what} line ${i + 1} is not <type>=<value>: "${line.slice(0, 60)}"`);
    }
    if (line.startsWith('m=')) {
      const m = M_LINE.exec(line);
      if (!m) throw new SdpSyntaxError(`${what} line ${i + 1} is not a valid m-line: "${line.slice(0, 80)}"`);
      current = {
        kind: m[1]!,
        port: Number(m[2]),
        proto: m[3]!,
        formats: m[4]!.split(' ').filter(Boolean),
        lines: [],
      };
      sdp.media.push(current);
    } else if (current) {
      current.lines.push(line);
    } else {
      sdp.session.push(line);
    }
  }
  return sdp;
}

/** A whole SDP document: starts with `v=0` and has `o=` and `s=` lines. */
export function parseSdpDocument(text: string): SdpText {
  const sdp = parseSdpText(text);
  if (sdp.session[0] !== 'v=0') throw new SdpSyntaxError('SDP must start with "v=0"');
  if (!sdp.session.some((l) => l.startsWith('o='))) throw new SdpSyntaxError('SDP has no o= line');
  return sdp;
}

export function serializeSdpText(sdp: SdpText): string {
  const out = [...sdp.session];
  for (const m of sdp.media) {
    out.push(`m=${m.kind} ${m.port} ${m.proto} ${m.formats.join(' ')}`.trimEnd(), ...m.lines);
  }
  return out.join('\r\n') + '\r\n';
}

/** Values of `a=<name>:<value>` lines. */
export function attributeValues(lines: readonly string[], name: string): string[] {
  const prefix = `a=${name}:`;
  return lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

/** The value of the first `a=<name>:<value>` line, or undefined. */
export function attributeValue(lines: readonly string[], name: string): string | undefined {
  return attributeValues(lines, name)[0];
}

/** Whether a flag attribute `a=<name>` is present. */
export function hasFlag(lines: readonly string[], name: string): boolean {
  return lines.includes(`a=${name}`);
}

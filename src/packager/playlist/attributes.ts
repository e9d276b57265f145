/**
 * Attribute lists (RFC 8216bis 4.2): `NAME=value,NAME="quoted",...`. Shared by the
 * media and multivariant renderers and parsers.
 */

export class PlaylistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlaylistError';
  }
}

/** A value written as-is: decimal-integer, decimal-floating-point, enumerated-string, resolution. */
export type RawValue = { raw: string };
export type AttrValue = string | RawValue;
export type AttrEntry = readonly [name: string, value: AttrValue | undefined];

/*
 * RFC 8216bis 4.2: "quoted-string: a string of characters within a pair of double
 * quotes (0x22). The following characters MUST NOT appear in a quoted-string: line
 * feed (0xA), carriage return (0xD), or double quote (0x22)."
 */
export function quoted(s: string): string {
  if (/["\r\n]/.test(s)) throw new PlaylistError(`a quoted-string cannot hold ${JSON.stringify(s)}`);
  return `"${s}"`;
}

export const raw = (s: string | number): RawValue => ({ raw: String(s) });
export const int = (n: number): RawValue => {
  // RFC 8216bis 4.2: "decimal-integer: an unquoted string of characters from the set [0..9] ... in the range 0 to 2^64-1"
  if (!Number.isSafeInteger(n) || n < 0) throw new PlaylistError(`${n} is not a decimal-integer`);
  return raw(n);
};
/** decimal-floating-point with a fixed number of decimals, so output is stable. */
export const float = (n: number, decimals: number): RawValue => {
  if (!Number.isFinite(n) || n < 0) throw new PlaylistError(`${n} is not a decimal-floating-point`);
  return raw(n.toFixed(decimals));
};
export const yesNo = (b: boolean): RawValue => raw(b ? 'YES' : 'NO');

/** Renders entries whose value is defined, in the order given. */
export function formatAttributes(entries: readonly AttrEntry[]): string {
  const out: string[] = [];
  for (const [name, v] of entries) {
    if (v === undefined) continue;
    out.push(`${name}=${typeof v === 'string' ? quoted(v) : v.raw}`);
  }
  return out.join(',');
}

/** An attribute as parsed: `quoted` tells a quoted-string from an unquoted value. */
export interface ParsedAttr {
  value: string;
  quoted: boolean;
}

/** Parses an attribute list; a quoted-string may hold commas and `=`. */
export function parseAttributes(text: string): Map<string, ParsedAttr> {
  const attrs = new Map<string, ParsedAttr>();
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new PlaylistError(`attribute without a value in "${text}"`);
    const name = text.slice(i, eq);
    // RFC 8216bis 4.2: "AttributeName is an unquoted string containing characters from the set [A..Z], [0..9], and '-'."
    if (!/^[A-Z0-9-]+$/.test(name)) throw new PlaylistError(`bad attribute name "${name}"`);
    let value: string;
    let isQuoted = false;
    if (text[eq + 1] === '"') {
      const close = text.indexOf('"', eq + 2);
      if (close < 0) throw new PlaylistError(`unterminated quoted-string in "${text}"`);
      value = text.slice(eq + 2, close);
      isQuoted = true;
      i = close + 1;
    } else {
      const comma = text.indexOf(',', eq + 1);
      value = text.slice(eq + 1, comma < 0 ? text.length : comma);
      i = comma < 0 ? text.length : comma;
    }
    // RFC 8216bis 4.2: "A given AttributeName MUST NOT appear more than once in a given attribute-list."
    if (attrs.has(name)) throw new PlaylistError(`attribute ${name} appears twice`);
    attrs.set(name, { value, quoted: isQuoted });
    if (i < text.length) {
      if (text[i] !== ',') throw new PlaylistError(`expected "," after ${name} in "${text}"`);
      i++;
    }
  }
  return attrs;
}

/** Typed access to a parsed attribute list, naming the tag in errors. */
export class Attrs {
  readonly #m: Map<string, ParsedAttr>;
  readonly #tag: string;

  constructor(tag: string, text: string) {
    this.#tag = tag;
    this.#m = parseAttributes(text);
  }

  has(name: string): boolean {
    return this.#m.has(name);
  }

  str(name: string): string | undefined {
    return this.#m.get(name)?.value;
  }

  requireStr(name: string): string {
    const v = this.str(name);
    if (v === undefined) throw new PlaylistError(`${this.#tag} needs ${name}`);
    return v;
  }

  num(name: string): number | undefined {
    const v = this.#m.get(name);
    if (v === undefined) return undefined;
    const n = Number(v.value);
    if (v.quoted || v.value === '' || !Number.isFinite(n)) {
      throw new PlaylistError(`${this.#tag} ${name} is not a number: ${v.value}`);
    }
    return n;
  }

  requireNum(name: string): number {
    const n = this.num(name);
    if (n === undefined) throw new PlaylistError(`${this.#tag} needs ${name}`);
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (v !== 'YES' && v !== 'NO') throw new PlaylistError(`${this.#tag} ${name} must be YES or NO`);
    return v === 'YES';
  }
}

/** Splits playlist text into lines, checking the header every playlist must start with. */
export function playlistLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  // RFC 8216bis 4.4.1.1: "The EXTM3U tag ... MUST be the first line of every Media Playlist and every Multivariant Playlist."
  if (lines[0] !== '#EXTM3U') throw new PlaylistError('playlist does not start with #EXTM3U');
  return lines.slice(1).filter((l) => l.trim() !== '');
}

/** `#EXT-X-FOO:rest` → ['#EXT-X-FOO', 'rest']. */
export function splitTag(line: string): [tag: string, value: string] {
  const colon = line.indexOf(':');
  return colon < 0 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1)];
}

/** RFC 8216bis 6.2.5 Delivery Directives, as a request names them. */
export interface DeliveryDirectives {
  msn?: number;
  part?: number;
  /** `_HLS_skip=YES` or `v2` (no date ranges here, so both mean the same). */
  skip: boolean;
}

const DECIMAL_INTEGER = /^\d{1,15}$/;

/**
 * RFC 8216bis 6.2.5 Delivery Directives. `_HLS_msn` and `_HLS_part` are decimal-integers;
 * 6.2.5.2: "_HLS_part ... The _HLS_part directive MUST be accompanied by an _HLS_msn
 * directive" (so alone it is a 400); `_HLS_skip` is `YES` or `v2`. Any other malformed
 * value is a 400 too; other query parameters (cache busters) are ignored. Returns the
 * error message on failure.
 */
export function parseDirectives(query: unknown): DeliveryDirectives | string {
  const q = (query ?? {}) as Record<string, unknown>;
  const one = (key: string): string | undefined | null => {
    const v = q[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : null;
  };
  const msn = one('_HLS_msn');
  const part = one('_HLS_part');
  const skip = one('_HLS_skip');
  const d: DeliveryDirectives = { skip: false };
  if (msn !== undefined) {
    if (msn === null || !DECIMAL_INTEGER.test(msn)) return '_HLS_msn must be one decimal integer';
    d.msn = Number(msn);
  }
  if (part !== undefined) {
    if (part === null || !DECIMAL_INTEGER.test(part)) return '_HLS_part must be one decimal integer';
    if (d.msn === undefined) return '_HLS_part needs _HLS_msn';
    d.part = Number(part);
  }
  if (skip !== undefined) {
    if (skip !== 'YES' && skip !== 'v2') return '_HLS_skip must be YES or v2';
    d.skip = true;
  }
  return d;
}

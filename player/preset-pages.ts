/**
 * GET /api/presets answers a page at a time (`?limit=` up to 500, then `nextCursor`): every
 * list that offers a choice of preset reads them all, or a deployment with many user presets
 * would hide the newest ones from the form.
 */
export interface PresetPage<E> {
  presets: E[];
  nextCursor?: string | null;
}

/** The pages after `first`, appended to it; `first` itself when it was the only page. */
export async function restOfPresets<E>(first: PresetPage<E>): Promise<PresetPage<E>> {
  let cursor = first.nextCursor ?? null;
  if (cursor === null) return first;
  const presets = [...first.presets];
  // A cursor that comes back again would loop forever: stop at one already seen.
  const seen = new Set<string>();
  while (cursor !== null && !seen.has(cursor)) {
    seen.add(cursor);
    const res = await fetch(`${PRESETS_URL}&cursor=${encodeURIComponent(cursor)}`, {
      cache: 'no-cache',
    });
    if (!res.ok) throw new Error(`/api/presets answered ${res.status}`);
    const page = (await res.json()) as PresetPage<E>;
    presets.push(...page.presets);
    cursor = page.nextCursor ?? null;
  }
  return { presets, nextCursor: null };
}

/** The largest page the API gives: most deployments' presets fit in one request. */
export const PRESETS_URL = '/api/presets?limit=500';

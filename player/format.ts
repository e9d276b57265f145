/** How the console writes numbers, durations and sizes. */

export function kbps(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} Mb/s` : `${Math.round(n)} kb/s`;
}

/** Seconds as `m:ss` (or `h:mm:ss`). */
export function clock(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function bytes(n: number): string {
  if (n < 1024 * 1024) return `${Math.max(1, Math.round(n / 1024))} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** `2 min ago`, `just now`. */
export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '–';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 10) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

/**
 * Wall-clock time a transcode still needs: the media left (from percent and the media
 * time done) over the speed. Null until both are known.
 */
export function timeLeftS(p: { percent: number; speed: number | null; outTimeMs: number }): number | null {
  if (!(p.percent > 0) || !(p.speed && p.speed > 0) || p.percent >= 100) return null;
  const totalMs = p.outTimeMs / (p.percent / 100);
  return (totalMs - p.outTimeMs) / 1000 / p.speed;
}

import { $ } from './dom.js';
import { clock } from './format.js';

/**
 * Pictures of streams and files (README "Thumbnails"): `/hls/{id}/poster.jpg` (a live
 * stream's is remade every few seconds; the origin lets caches keep it 5 s, so the URL
 * changes in 5 s steps), and a file's thumbnail track `/hls/{id}/thumbnails.vtt`, whose
 * cues name tiles of `sprite.jpg` with `#xywh=x,y,w,h`, shown while seeking.
 */
export function posterUrl(id: string, live: boolean): string {
  const base = `/hls/${encodeURIComponent(id)}/poster.jpg`;
  return live ? `${base}?t=${Math.floor(Date.now() / 5000)}` : base;
}

export interface ThumbnailCue {
  start: number;
  end: number;
  /** The sprite, resolved against the track's URL. */
  url: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** WebVTT timestamp (`mm:ss.ttt` or `hh:mm:ss.ttt`) in seconds. */
function seconds(t: string): number {
  const parts = t.trim().split(':').map(Number);
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

/** The cues of a thumbnail track: `start --> end` then `image#xywh=x,y,w,h`. */
export function parseThumbnailsVtt(text: string, base: string): ThumbnailCue[] {
  const cues: ThumbnailCue[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i] ?? '');
    const target = lines[i + 1]?.trim();
    if (!m || !target) continue;
    const [file, frag] = target.split('#xywh=');
    const xywh = (frag ?? '').split(',').map(Number);
    if (!file || xywh.length !== 4 || xywh.some((n) => !Number.isFinite(n))) continue;
    const [x, y, w, h] = xywh as [number, number, number, number];
    cues.push({
      start: seconds(m[1] ?? '0'),
      end: seconds(m[2] ?? '0'),
      url: new URL(file, base).href,
      x,
      y,
      w,
      h,
    });
  }
  return cues;
}

let generation = 0;

/**
 * Below the player, for a file with a thumbnail track: a seek slider that shows the
 * tile of the time under it while dragged, hovered or moved with the keyboard (the
 * native controls give no hook for a preview). `id` null hides it (live streams).
 */
export function showSeekPreviews(id: string | null, video: HTMLVideoElement): void {
  const box = $('seek');
  const bar = $<HTMLInputElement>('seek-bar');
  const preview = $('seek-preview');
  const time = $('seek-time');
  const gen = ++generation;
  box.hidden = true;
  if (!id) return;
  const track = new URL(`/hls/${encodeURIComponent(id)}/thumbnails.vtt`, location.href).href;
  void fetch(track)
    .then((r) => (r.ok ? r.text() : ''))
    .then((text) => {
      if (gen !== generation) return;
      const cues = parseThumbnailsVtt(text, track);
      if (cues.length === 0) return;
      const duration = cues[cues.length - 1]?.end ?? 0;
      bar.max = String(duration);
      bar.step = '0.1';
      box.hidden = false;
      const show = (t: number): void => {
        const cue = cues.find((c) => t >= c.start && t < c.end) ?? cues[cues.length - 1];
        if (!cue) return;
        preview.style.width = `${cue.w}px`;
        preview.style.height = `${cue.h}px`;
        preview.style.backgroundImage = `url("${cue.url}")`;
        preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
        // Under the slider's thumb, kept inside the slider's width.
        const left = (t / (duration || 1)) * bar.clientWidth - cue.w / 2;
        preview.style.left = `${Math.max(0, Math.min(bar.clientWidth - cue.w, left))}px`;
        preview.hidden = false;
        time.textContent = clock(t);
        bar.setAttribute('aria-valuetext', clock(t));
      };
      const hide = (): void => {
        preview.hidden = true;
      };
      bar.oninput = () => show(Number(bar.value));
      bar.onchange = () => {
        video.currentTime = Number(bar.value);
        hide();
      };
      bar.onpointermove = (e) => {
        const r = bar.getBoundingClientRect();
        show(((e.clientX - r.left) / r.width) * duration);
      };
      bar.onpointerleave = hide;
      bar.onblur = hide;
      bar.onfocus = () => show(Number(bar.value));
      video.ontimeupdate = () => {
        if (gen !== generation || document.activeElement === bar) return;
        bar.value = String(video.currentTime);
        bar.setAttribute('aria-valuetext', clock(video.currentTime));
      };
    })
    .catch(() => undefined);
}

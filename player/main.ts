import Hls from 'hls.js';

/** The player page: lists live streams and files, plays one with hls.js, shows what it plays. */

interface StreamView {
  id: string;
  state: string;
  playlistUrl: string;
}
interface JobView {
  id: string;
  queue: 'vod' | 'live';
  state: string;
  assetId: string;
  input: string;
  progress: { percent: number } | null;
  playlistUrl: string;
  failedReason: string | null;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

const video = $<HTMLVideoElement>('video');
let hls: Hls | null = null;
let current: string | null = null;

function setText(id: string, text: string): void {
  $(id).textContent = text;
}

let playingLive = false;

function play(id: string, url: string, live: boolean): void {
  current = id;
  playingLive = live;
  hls?.destroy();
  hls = null;
  setText('now-playing', `${live ? 'live stream' : 'file'} ${id}`);
  setText('rendition', '–');
  setText('latency', '–');
  const path = new URL(url, location.href).pathname;
  if (Hls.isSupported()) {
    // Live: LL-HLS (parts, blocking reload, PART-HOLD-BACK); files: plain HLS.
    const h = new Hls(live ? { lowLatencyMode: true, backBufferLength: 30 } : { lowLatencyMode: false });
    hls = h;
    h.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
      const level = h.levels[data.level];
      if (level) {
        setText(
          'rendition',
          `${level.width}x${level.height} @ ${Math.round(level.bitrate / 1000)} kb/s (${data.level + 1} of ${h.levels.length})`,
        );
      }
    });
    h.on(Hls.Events.ERROR, (_e, data) => {
      if (!data.fatal) return;
      setText('status', `playback error: ${data.details}`);
      // A stream that just went live has no playlist for a moment: try again shortly.
      if (live && current === id) setTimeout(() => current === id && hls === h && play(id, url, live), 1000);
    });
    h.loadSource(path);
    h.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = path;
  } else {
    setText('status', 'this browser plays neither MSE nor native HLS');
    return;
  }
  void video.play().catch(() => undefined);
  renderSelection();
}

function renderSelection(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('aside button')) {
    b.setAttribute('aria-current', String(b.dataset.id === current));
  }
}

function item(label: string, id: string, onClick: (() => void) | null, note = ''): HTMLLIElement {
  const li = document.createElement('li');
  if (onClick) {
    const b = document.createElement('button');
    b.textContent = label;
    b.dataset.id = id;
    b.addEventListener('click', onClick);
    li.append(b);
  } else {
    li.textContent = label;
    li.className = 'muted';
  }
  if (note) {
    const span = document.createElement('span');
    span.className = 'muted';
    span.textContent = ` ${note}`;
    li.append(span);
  }
  return li;
}

function fill(listId: string, items: HTMLLIElement[], empty: string): void {
  const ul = $(listId);
  ul.replaceChildren(
    ...(items.length
      ? items
      : [Object.assign(document.createElement('li'), { className: 'empty', textContent: empty })]),
  );
}

async function refresh(): Promise<void> {
  try {
    const [streams, jobs] = await Promise.all([
      fetch('/api/streams').then((r) => r.json() as Promise<{ streams: StreamView[] }>),
      fetch('/api/jobs').then((r) => r.json() as Promise<{ jobs: JobView[] }>),
    ]);
    fill(
      'streams',
      streams.streams.map((s) => item(s.id, s.id, () => play(s.id, s.playlistUrl, true))),
      'none live',
    );
    fill(
      'files',
      jobs.jobs
        .filter((j) => j.queue === 'vod')
        .map((j) => {
          if (j.state === 'completed')
            return item(`${j.assetId} (${j.input})`, j.assetId, () => play(j.assetId, j.playlistUrl, false));
          const note =
            j.state === 'active'
              ? `transcoding ${j.progress?.percent ?? 0}%`
              : j.state === 'failed'
                ? `failed: ${j.failedReason ?? ''}`
                : j.state;
          return item(`${j.assetId} (${j.input})`, j.assetId, null, note);
        }),
      'none yet',
    );
    renderSelection();
    setText('status', '');
    // Open the page and see something: play the first ready file or stream if nothing plays yet.
    if (!current) {
      const wanted = new URLSearchParams(location.search).get('stream');
      const live = streams.streams.find((s) => s.id === wanted) ?? (wanted ? undefined : streams.streams[0]);
      const file = jobs.jobs.find((j) => j.queue === 'vod' && j.state === 'completed');
      if (live) play(live.id, live.playlistUrl, true);
      else if (file) play(file.assetId, file.playlistUrl, false);
    }
  } catch {
    setText('status', 'server unreachable; retrying');
  }
}

// hls.js measures latency from EXT-X-PROGRAM-DATE-TIME against the wall clock: live only.
setInterval(() => {
  if (!playingLive) return;
  if (hls && hls.latency > 0 && Number.isFinite(hls.latency))
    setText('latency', `${hls.latency.toFixed(2)} s`);
}, 500);
setInterval(() => void refresh(), 2000);
void refresh();

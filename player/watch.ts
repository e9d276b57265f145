import Hls from 'hls.js';
import { $ } from './dom.js';
import { jobs as jobsPoll, streams as streamsPoll } from './store.js';
import { posterUrl, showSeekPreviews } from './thumbs.js';
import type { JobView, StreamView } from './types.js';

/**
 * The console's Watch panel: lists live streams and files and plays one, shows what it
 * plays. Files play over HLS (hls.js) with seeking previews from their thumbnail track;
 * live streams over WebRTC (WHEP, draft-ietf-wish-whep) or LL-HLS, as picked
 * (`?protocol=webrtc` picks WebRTC from the ladder, `webrtc-passthrough` the publisher's
 * own RTP), falling back to LL-HLS when WHEP fails.
 */

const video = $<HTMLVideoElement>('video');
const protocolSelect = $<HTMLSelectElement>('protocol');
const params = new URLSearchParams(location.search);
const asked = params.get('protocol');
protocolSelect.value = asked === 'webrtc' || asked === 'webrtc-passthrough' ? asked : 'llhls';

let hls: Hls | null = null;
let current: string | null = null;
let currentUrl = '';
/** Bumped by every play(): async WHEP steps of an older play() stand down. */
let generation = 0;
/** A status line that outlives refresh() (e.g. why WebRTC fell back to LL-HLS). */
let notice = '';

function setText(id: string, text: string): void {
  $(id).textContent = text;
}

let playingLive = false;
/** The latency shown now, in seconds, and of which live stream; null when none is measured. */
let measured: { stream: string; seconds: number } | null = null;

/** Plays a file (HLS) or a live stream (the protocol picked, WebRTC or LL-HLS). */
function play(id: string, url: string, live: boolean): void {
  generation += 1;
  stopWhep();
  current = id;
  currentUrl = url;
  playingLive = live;
  notice = '';
  measured = null;
  setText('status', '');
  // The picture until the first frame: a file's stored poster, a live stream's newest one.
  video.poster = posterUrl(id, live);
  showSeekPreviews(live ? null : id, video);
  if (live && protocolSelect.value.startsWith('webrtc'))
    void playWhep(id, generation, protocolSelect.value === 'webrtc' ? 'rung' : 'passthrough');
  else playHls(id, url, live);
  renderSelection();
}

/**
 * hls.js for live streams: LL-HLS, with PART-HOLD-BACK (3 parts) as its target latency.
 * `hls.latency` is live edge + playlist age − playhead. hls.js's own catch-up
 * (maxLiveSyncPlaybackRate, off by default) only speeds up while more than one second is
 * buffered, so it cannot bring a 0.6 s target back after start-up or a stall: measured
 * with bench/latency on the low-latency preset, 1.8 s without it, 1.2 s with it (at
 * 1.5x), 0.7 s with followLiveEdge(), which does that job instead; hls.js leaves
 * playbackRate alone (rate 1).
 * A stall raises the target by liveSyncOnStallIncrease (default 1 s, more than the whole
 * target here): one part's worth instead.
 */
const LIVE_HLS_CONFIG: Partial<Hls['config']> = {
  lowLatencyMode: true,
  backBufferLength: 30,
  maxLiveSyncPlaybackRate: 1,
  liveSyncOnStallIncrease: 0.2,
};

/** Behind the target latency by more than this, a live stream catches up (s). */
const CATCH_UP_FROM_S = 0.15;
/** Catch-up speed: 5% faster per 0.2 s behind, at most 25% (browsers keep the pitch). */
const catchUpRate = (behindS: number): number =>
  Math.min(1.25, 1 + Math.max(1, Math.round(behindS * 5)) * 0.05);
/** Just after the start, a stream this far behind its target jumps there instead (s). */
const START_SLACK_S = 0.25;

/**
 * Keeps a live stream at hls.js's target latency. At the start: hls.js picks where to
 * start (live edge − target) when its first playlist arrives but seeks there only once
 * parts are loaded and buffered, half a second or more later on a busy machine; once it
 * plays, one seek inside the buffer puts the playhead where hls.js meant it to be. Later
 * (after a stall, or when the edge jumped ahead): 5 to 25% faster while behind and at
 * least two parts are buffered, normal speed otherwise. Further behind than one target
 * duration is DVR-like playback (paused, or sought back), which hls.js leaves alone too.
 */
function followLiveEdge(h: Hls): void {
  const ahead = (): number => {
    const b = video.buffered;
    return b.length ? b.end(b.length - 1) - video.currentTime : 0;
  };
  const behind = (): number | null => {
    const target = h.targetLatency;
    return target === null || !(h.latency > 0) ? null : h.latency - target;
  };
  const startCheck = (): void => {
    if (hls !== h) return;
    const sync = h.liveSyncPosition;
    const late = behind();
    if (sync === null || late === null || sync <= video.currentTime) return;
    if (late > START_SLACK_S && ahead() - (sync - video.currentTime) > START_SLACK_S)
      video.currentTime = sync;
  };
  const pace = (): void => {
    if (hls !== h) {
      // Another stream or a file plays now, at normal speed.
      video.removeEventListener('timeupdate', pace);
      video.playbackRate = 1;
      return;
    }
    if (video.paused || video.seeking) return;
    const details = h.latestLevelDetails;
    const late = behind();
    const catchUp =
      details !== null &&
      late !== null &&
      late > CATCH_UP_FROM_S &&
      late < details.targetduration &&
      ahead() > 2 * (details.partTarget || details.targetduration);
    const rate = catchUp ? catchUpRate(late) : 1;
    if (video.playbackRate !== rate) video.playbackRate = rate;
  };
  video.addEventListener('playing', () => setTimeout(startCheck, 500), { once: true });
  video.addEventListener('timeupdate', pace);
}

function playHls(id: string, url: string, live: boolean): void {
  hls?.destroy();
  hls = null;
  video.srcObject = null;
  setText('now-playing', live ? `live stream ${id} via LL-HLS` : `file ${id}`);
  setText('rendition', '–');
  setText('latency', '–');
  const path = new URL(url, location.href).pathname;
  if (Hls.isSupported()) {
    // Live: LL-HLS (parts, blocking reload, PART-HOLD-BACK); files: plain HLS.
    const h = new Hls(live ? LIVE_HLS_CONFIG : { lowLatencyMode: false });
    hls = h;
    // For the console and bench/latency: the instance playing now.
    (window as unknown as { hls?: Hls }).hls = h;
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
      if (live && current === id)
        setTimeout(() => current === id && hls === h && playHls(id, url, live), 1000);
    });
    if (live) followLiveEdge(h);
    h.loadSource(path);
    h.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = path;
  } else {
    setText('status', 'this browser plays neither MSE nor native HLS');
    return;
  }
  void video.play().catch(() => undefined);
}

// --- WebRTC: a WHEP client (offer with recvonly video and audio, no trickle) ---------------

interface WhepSession {
  readonly pc: RTCPeerConnection;
  /** The session URL from Location, for DELETE; null until the 201. */
  location: string | null;
  timers: ReturnType<typeof setInterval>[];
  /** The previous getStats() sample, for rates and the recent jitter-buffer delay. */
  last: { delay: number; count: number; bytes: number; at: number };
}
let whep: WhepSession | null = null;

/** Resolves once ICE gathering is complete, or after timeoutMs (the offer then goes with what it has). */
function gathered(peer: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (peer.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      peer.removeEventListener('icegatheringstatechange', onChange);
      resolve();
    };
    const onChange = (): void => {
      if (peer.iceGatheringState === 'complete') finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    peer.addEventListener('icegatheringstatechange', onChange);
  });
}

/** Ends the WebRTC session, if any: DELETE its Location (keepalive: also from pagehide), close the peer. */
function stopWhep(): void {
  const s = whep;
  if (!s) return;
  whep = null;
  whepSending = '';
  for (const t of s.timers) clearInterval(t);
  if (s.location) void fetch(s.location, { method: 'DELETE', keepalive: true }).catch(() => undefined);
  s.pc.close();
  if (video.srcObject) video.srcObject = null;
}

/** WHEP failed for this play(): say why in the status line and play the stream over LL-HLS. */
function fallBack(id: string, gen: number, reason: string): void {
  if (gen !== generation) return;
  stopWhep();
  protocolSelect.value = 'llhls';
  notice = `WebRTC unavailable (${reason}): playing LL-HLS instead`;
  setText('status', notice);
  playHls(id, currentUrl, true);
}

/**
 * `rung`: a rung of the ladder, which the server picks for this browser's bandwidth (the
 * default: any browser decodes it, it adapts); `passthrough`: the publisher's own RTP.
 */
async function playWhep(id: string, gen: number, mode: 'rung' | 'passthrough'): Promise<void> {
  hls?.destroy();
  hls = null;
  video.removeAttribute('src');
  setText('now-playing', `live stream ${id} via WebRTC (WHEP)`);
  setText('rendition', 'WebRTC, connecting');
  setText('latency', '–');
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const session: WhepSession = {
    pc,
    location: null,
    timers: [],
    last: { delay: 0, count: 0, bytes: 0, at: 0 },
  };
  whep = session;
  const media = new MediaStream();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addEventListener('track', (e) => {
    media.addTrack(e.track);
    if (video.srcObject !== media) video.srcObject = media;
    void video.play().catch(() => undefined);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (whep === session && pc.connectionState === 'failed') fallBack(id, gen, 'the connection failed');
  });
  try {
    // Chromium's default offer carries VP8, VP9, H.264 (packetization-mode 1) and AV1: the
    // server picks what the publisher sends, so nothing is stripped here.
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    if (whep !== session) return;
    const res = await fetch(`/whep/${encodeURIComponent(id)}?mode=${mode}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: pc.localDescription?.sdp ?? '',
    });
    const body = await res.text();
    const loc = res.headers.get('location');
    if (res.status === 201 && loc) session.location = new URL(loc, res.url).href;
    if (whep !== session) {
      // Switched away meanwhile: this session is no one's, end it.
      if (session.location) void fetch(session.location, { method: 'DELETE' }).catch(() => undefined);
      return;
    }
    if (res.status !== 201) return fallBack(id, gen, `WHEP answered ${res.status}: ${body.trim()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
  } catch (e) {
    return fallBack(id, gen, e instanceof Error ? e.message : String(e));
  }
  if (whep !== session) return;
  // No media (no video RTP) within ~5 s of the answer, or media but still no picture after
  // 15 s (a codec this browser cannot decode, say): LL-HLS instead.
  const startedAt = performance.now();
  const watchdog = setInterval(() => {
    if (whep !== session) return clearInterval(watchdog);
    if (video.srcObject === media && video.videoWidth > 0 && video.currentTime > 0)
      return clearInterval(watchdog);
    const waited = performance.now() - startedAt;
    if (session.last.bytes === 0 && waited > 5000) return fallBack(id, gen, 'no media within 5 s');
    if (waited > 15_000) return fallBack(id, gen, 'media but no picture within 15 s');
  }, 250);
  session.timers.push(
    watchdog,
    setInterval(() => void showWhepStats(session), 1000),
    setInterval(() => void showWhepRung(id, session), 2000),
  );
}

/** What the server sends this viewer (its rung, or passthrough), from the stream's view. */
let whepSending = '';

async function showWhepRung(id: string, session: WhepSession): Promise<void> {
  const viewerId = session.location?.split('/').pop();
  if (!viewerId) return;
  const res = await fetch(`/api/streams/${encodeURIComponent(id)}`).catch(() => null);
  if (!res?.ok || whep !== session) return;
  const view = (await res.json().catch(() => null)) as {
    viewers?: { whepViewers?: { viewerId: string; sending: string; rung?: string }[] };
  } | null;
  const me = view?.viewers?.whepViewers?.find((v) => v.viewerId === viewerId);
  // An API process without the publisher has no stream view: the rung stays unnamed.
  if (me) whepSending = me.sending === 'rung' ? `rung ${me.rung}` : me.sending;
}

interface RtcStat {
  type: string;
  id: string;
  kind?: string;
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  bytesReceived?: number;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
  currentRoundTripTime?: number;
  selectedCandidatePairId?: string;
  nominated?: boolean;
  state?: string;
}

/** Rendition from the inbound video (or the element), latency as jitter buffer + RTT/2. */
async function showWhepStats(session: WhepSession): Promise<void> {
  const stats = await session.pc.getStats().catch(() => null);
  if (!stats || whep !== session) return;
  const all: RtcStat[] = [];
  stats.forEach((s: RtcStat) => all.push(s));
  const inbound = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
  const pairId = all.find(
    (s) => s.type === 'transport' && s.selectedCandidatePairId,
  )?.selectedCandidatePairId;
  const pair =
    all.find((s) => s.type === 'candidate-pair' && s.id === pairId) ??
    all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  const width = inbound?.frameWidth ?? video.videoWidth;
  const height = inbound?.frameHeight ?? video.videoHeight;
  const now = performance.now();
  const bytes = inbound?.bytesReceived ?? 0;
  const last = session.last;
  const kbps = last.at && bytes >= last.bytes ? Math.round(((bytes - last.bytes) * 8) / (now - last.at)) : 0;
  if (width > 0) {
    const fps = inbound?.framesPerSecond ? ` @ ${Math.round(inbound.framesPerSecond)} fps` : '';
    const what = whepSending ? ` (${whepSending})` : '';
    setText('rendition', `WebRTC${what} ${width}x${height}${fps}${kbps ? `, ${kbps} kb/s` : ''}`);
  }
  // The jitter buffer's mean delay over the last second (the whole session's at first).
  const delay = inbound?.jitterBufferDelay ?? 0;
  const count = inbound?.jitterBufferEmittedCount ?? 0;
  const dCount = count - last.count;
  const buffer = dCount > 0 ? (delay - last.delay) / dCount : count > 0 ? delay / count : null;
  session.last = { delay, count, bytes, at: now };
  const rtt = pair?.currentRoundTripTime;
  if (buffer !== null) {
    const total = buffer + (rtt ?? 0) / 2;
    if (current) measured = { stream: current, seconds: total };
    setText(
      'latency',
      `~${total.toFixed(2)} s (WebRTC: jitter buffer${rtt !== undefined ? ' + RTT/2' : ''})`,
    );
  } else {
    setText('latency', 'sub-second (WebRTC)');
  }
}

protocolSelect.addEventListener('change', () => {
  // Switching protocol restarts the live stream playing now (a file plays over HLS anyway).
  if (current && playingLive) play(current, currentUrl, true);
});
addEventListener('pagehide', () => stopWhep());

function renderSelection(): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('#panel-watch aside button')) {
    b.setAttribute('aria-current', String(b.dataset.id === current));
  }
}

function item(
  label: string,
  id: string,
  onClick: (() => void) | null,
  note = '',
  poster: string | null = null,
): HTMLLIElement {
  const li = document.createElement('li');
  if (onClick) {
    const b = document.createElement('button');
    if (poster) {
      // Decorative: the button's text names what it plays.
      const img = Object.assign(document.createElement('img'), { src: poster, alt: '', loading: 'lazy' });
      img.className = 'thumb';
      img.width = 96;
      img.height = 54;
      // No picture yet (a stream that just went live): an empty frame until the next one loads.
      img.addEventListener('error', () => img.classList.add('missing'));
      img.addEventListener('load', () => img.classList.remove('missing'));
      b.append(img);
    }
    b.append(label);
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

/** What each list shows, so that an unchanged list is not rebuilt (and keeps keyboard focus). */
const shown = new Map<string, string>();

function fill(listId: string, items: HTMLLIElement[], empty: string): void {
  const key = items.map((li) => li.textContent).join('\n');
  if (shown.get(listId) === key) return;
  shown.set(listId, key);
  const ul = $(listId);
  ul.replaceChildren(
    ...(items.length
      ? items
      : [Object.assign(document.createElement('li'), { className: 'empty', textContent: empty })]),
  );
}

/** Live posters in the list follow the stream: a new URL every few seconds (the origin caches 5 s). */
setInterval(() => {
  if (document.visibilityState !== 'visible') return;
  for (const img of document.querySelectorAll<HTMLImageElement>('#streams img.thumb')) {
    const id = img.closest('button')?.dataset.id;
    if (id) img.src = posterUrl(id, true);
  }
}, 5000);

function refresh(streams: { streams: StreamView[] }, jobs: { jobs: JobView[] }): void {
  {
    fill(
      'streams',
      streams.streams.map((s) =>
        item(s.id, s.id, () => play(s.id, s.playlistUrl, true), '', posterUrl(s.id, true)),
      ),
      'none live',
    );
    fill(
      'files',
      jobs.jobs
        .filter((j) => j.queue === 'vod')
        .map((j) => {
          if (j.state === 'completed')
            return item(
              `${j.assetId} (${j.input})`,
              j.assetId,
              () => play(j.assetId, j.playlistUrl, false),
              '',
              posterUrl(j.assetId, false),
            );
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
    setText('status', notice);
    // Open the page and see something: play the first ready file or stream if nothing plays yet.
    if (!current) {
      const wanted = params.get('stream');
      const live = streams.streams.find((s) => s.id === wanted) ?? (wanted ? undefined : streams.streams[0]);
      const file = jobs.jobs.find((j) => j.queue === 'vod' && j.state === 'completed');
      if (live) play(live.id, live.playlistUrl, true);
      else if (file) play(file.assetId, file.playlistUrl, false);
    }
  }
}

/**
 * hls.js's latency (live only) is live edge + playlist age − playhead, recomputed at the
 * media element's timeupdate. Before playback starts (and during a seek) it is measured
 * against position 0 or the old position: for a stream that went live seconds ago, the
 * stream's whole age. It is shown once a timeupdate followed the start (or the last seek).
 */
let latencyMeasured = false;
video.addEventListener('seeking', () => (latencyMeasured = false));
video.addEventListener('emptied', () => (latencyMeasured = false));
video.addEventListener('timeupdate', () => {
  if (!video.seeking && !video.paused && video.currentTime > 0) latencyMeasured = true;
});
setInterval(() => {
  if (!playingLive || whep || !latencyMeasured) return;
  if (hls && hls.latency > 0 && Number.isFinite(hls.latency)) {
    setText('latency', `${hls.latency.toFixed(2)} s`);
    if (current) measured = { stream: current, seconds: hls.latency };
  }
}, 500);

/** The latency this page's player measures for `stream` (LL-HLS: hls.js; WebRTC: jitter buffer + RTT/2). */
export function playerLatency(stream: string): number | null {
  return playingLive && current === stream && measured?.stream === stream ? measured.seconds : null;
}

/** Plays a live stream or a file (the console's other panels: Files, Health). */
export function playStream(id: string): void {
  const s = streamsPoll.value?.streams.find((v) => v.id === id);
  play(id, s?.playlistUrl ?? `/hls/${id}/index.m3u8`, true);
}

export function playFile(id: string): void {
  play(id, `/hls/${id}/index.m3u8`, false);
}

/** Lists follow the shared polls; the status line says when the server is unreachable. */
export function initWatch(): void {
  const both = (): void => {
    const s = streamsPoll.value;
    const j = jobsPoll.value;
    if (s && j) refresh(s, j);
  };
  streamsPoll.subscribe(both);
  jobsPoll.subscribe(both);
  streamsPoll.onError = (e) => setText('status', e ? 'server unreachable; retrying' : notice);
}

/**
 * The publish page: camera or screen over WHIP (RFC 9725) from the browser. The offer is
 * sent once ICE gathering is done (no trickle), as OBS does; the session's Location is
 * kept for DELETE on Stop.
 */

import { PRESETS_URL, restOfPresets, type PresetPage } from './preset-pages.js';

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
};

const preview = $<HTMLVideoElement>('preview');
const form = $<HTMLFormElement>('form');
const startButton = $<HTMLButtonElement>('start');
const stopButton = $<HTMLButtonElement>('stop');

let pc: RTCPeerConnection | null = null;
let media: MediaStream | null = null;
let session: string | null = null;
let token = '';
let statsTimer: ReturnType<typeof setInterval> | undefined;

function setText(id: string, text: string): void {
  $(id).textContent = text;
}

/** The console's Go live panel links here with `?stream=&preset=`: the form starts filled in. */
const query = new URLSearchParams(location.search);
const wantedStream = query.get('stream');
if (wantedStream) $<HTMLInputElement>('stream').value = wantedStream;

async function loadPresets(): Promise<void> {
  try {
    const body = await restOfPresets(
      (await (await fetch(PRESETS_URL)).json()) as PresetPage<{ preset: { id: string; name: string } }>,
    );
    const select = $<HTMLSelectElement>('preset');
    for (const { preset } of body.presets) {
      if (preset.id === 'default') continue;
      select.append(new Option(`${preset.name} (${preset.id})`, preset.id));
    }
    const wanted = query.get('preset');
    if (wanted && body.presets.some((p) => p.preset.id === wanted)) select.value = wanted;
  } catch {
    // the default preset still works
  }
}

function gathered(peer: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (peer.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (peer.iceGatheringState !== 'complete') return;
      peer.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    peer.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs);
  });
}

async function start(): Promise<void> {
  const stream = $<HTMLInputElement>('stream').value.trim();
  const preset = $<HTMLSelectElement>('preset').value;
  token = $<HTMLInputElement>('token').value;
  startButton.disabled = true;
  setText('status', '');
  try {
    media =
      $<HTMLSelectElement>('source').value === 'screen'
        ? await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: true })
        : await navigator.mediaDevices.getUserMedia({
            video: { width: 1280, height: 720, frameRate: 30 },
            audio: true,
          });
    preview.srcObject = media;
    const peer = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    pc = peer;
    for (const track of media.getTracks())
      peer.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    peer.addEventListener('connectionstatechange', () => {
      setText('state', peer.connectionState);
      if (peer.connectionState === 'failed') void stop('the connection failed');
    });
    await peer.setLocalDescription(await peer.createOffer());
    await gathered(peer, 2000);
    setText('state', 'connecting');
    const url = `/whip/${encodeURIComponent(stream)}${preset ? `?preset=${encodeURIComponent(preset)}` : ''}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: peer.localDescription?.sdp ?? '',
    });
    if (res.status !== 201) throw new Error(`${res.status}: ${(await res.text()).trim()}`);
    session = res.headers.get('location');
    await peer.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const watch = $<HTMLAnchorElement>('watch');
    watch.href = `/?stream=${encodeURIComponent(stream)}#watch`;
    watch.textContent = `/hls/${stream}/index.m3u8`;
    stopButton.disabled = false;
    statsTimer = setInterval(() => void showStats(peer), 1000);
  } catch (e) {
    setText('status', `could not publish: ${e instanceof Error ? e.message : String(e)}`);
    await stop();
  }
}

let lastBytes = 0;
let lastAt = 0;
async function showStats(peer: RTCPeerConnection): Promise<void> {
  let bytes = 0;
  let video = '';
  (await peer.getStats()).forEach(
    (s: {
      type: string;
      kind?: string;
      bytesSent?: number;
      frameWidth?: number;
      frameHeight?: number;
      framesPerSecond?: number;
    }) => {
      if (s.type !== 'outbound-rtp') return;
      bytes += s.bytesSent ?? 0;
      if (s.kind === 'video' && s.frameWidth)
        video = `${s.frameWidth}x${s.frameHeight} @ ${Math.round(s.framesPerSecond ?? 0)} fps`;
    },
  );
  const now = performance.now();
  if (lastAt) setText('sending', `${video}, ${Math.round(((bytes - lastBytes) * 8) / (now - lastAt))} kb/s`);
  lastBytes = bytes;
  lastAt = now;
}

async function stop(reason?: string): Promise<void> {
  clearInterval(statsTimer);
  if (session) {
    const url = session;
    session = null;
    await fetch(url, { method: 'DELETE', headers: token ? { authorization: `Bearer ${token}` } : {} }).catch(
      () => undefined,
    );
  }
  pc?.close();
  pc = null;
  for (const t of media?.getTracks() ?? []) t.stop();
  media = null;
  preview.srcObject = null;
  setText('state', reason ?? 'idle');
  startButton.disabled = false;
  stopButton.disabled = true;
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void start();
});
stopButton.addEventListener('click', () => void stop());
window.addEventListener('pagehide', () => void stop());
void loadPresets();

import { $, copyButton, el, setText } from './dom.js';
import { kbps } from './format.js';
import { encoderAdvice, STREAM_NAME, whipUrl } from './golive-model.js';
import { presets } from './store.js';
import type { PresetEntry } from './types.js';

/**
 * Go live: what to paste into OBS (Settings → Stream → Service WHIP, Server, Bearer
 * Token) for a stream name and preset, the encoder settings that suit the preset, and
 * the same stream from the browser's /publish page. Nothing here calls the server but
 * the preset list: the URLs are this page's own origin.
 */

const stream = (): HTMLInputElement => $<HTMLInputElement>('live-stream');
const preset = (): HTMLSelectElement => $<HTMLSelectElement>('live-preset');
const token = (): HTMLInputElement => $<HTMLInputElement>('live-token');

let entries: PresetEntry[] = [];

function render(): void {
  const name = stream().value.trim();
  const valid = STREAM_NAME.test(name);
  stream().setAttribute('aria-invalid', String(!valid));
  setText(
    'live-stream-error',
    valid ? '' : 'Letters, digits, _ and - only (up to 64), starting with a letter or digit.',
  );
  const id = preset().value || 'default';
  const url = whipUrl(location.origin, valid ? name : 'mystream', id);
  setText('live-url', url);
  setText('live-token-out', token().value ? '•'.repeat(Math.min(24, token().value.length)) : '(empty)');
  const q = new URLSearchParams({
    stream: valid ? name : 'mystream',
    ...(id !== 'default' ? { preset: id } : {}),
  });
  const publish = $<HTMLAnchorElement>('live-publish-link');
  publish.href = `/publish?${q}`;
  const hls = `${location.origin}/hls/${encodeURIComponent(name)}/index.m3u8`;
  setText('live-hls-url', hls);
  setText('live-whep-url', `${location.origin}/whep/${encodeURIComponent(name)}`);
  $<HTMLAnchorElement>('live-watch-link').href = `/?stream=${encodeURIComponent(name)}#watch`;

  const entry = entries.find((e) => e.preset.id === id);
  const list = $('live-encoder');
  if (!entry) {
    list.replaceChildren(el('p', { className: 'muted', textContent: 'Loading the preset…' }));
    return;
  }
  const a = encoderAdvice(entry.preset);
  setText('live-encoder-preset', entry.preset.name);
  const row = (term: string, value: string, why = ''): HTMLElement[] => [
    el('dt', { textContent: term }),
    el('dd', {}, value, why ? el('span', { className: 'muted', textContent: ` ${why}` }) : null),
  ];
  list.replaceChildren(
    el(
      'dl',
      { className: 'stats' },
      ...row('Rate control', 'CBR', '(constant bit rate)'),
      ...row('Bitrate', kbps(a.bitrateKbps), `(the top rung is ${kbps(topKbps(entry))})`),
      ...row(
        'Keyframe interval',
        `${a.keyframeIntervalS} s`,
        `(the preset's GOP is ${entry.preset.gopSeconds} s; longer delays every player's start)`,
      ),
      ...row('B-frames', '0', '(x264 options: bframes=0; NVENC: Max B-frames 0)'),
      ...row('Profile', a.profile),
      ...(a.tune ? row('Tune', a.tune) : []),
      ...row('Output resolution', a.resolution, '(Settings → Video)'),
      ...row('FPS', String(a.fps)),
      ...row('Audio', 'Opus, 48 kHz', '(OBS picks it for WHIP)'),
    ),
  );
}

function topKbps(e: PresetEntry): number {
  return Math.max(...e.preset.ladder.map((r) => r.videoBitrateKbps));
}

export function initGoLive(): void {
  for (const input of [stream(), token()]) input.addEventListener('input', render);
  preset().addEventListener('change', render);
  $('live-form').addEventListener('submit', (e) => e.preventDefault());
  $('live-url-copy').replaceWith(copyButton('WHIP URL', () => $('live-url').textContent ?? ''));
  $('live-token-copy').replaceWith(copyButton('bearer token', () => token().value));
  $('live-hls-copy').replaceWith(copyButton('LL-HLS URL', () => $('live-hls-url').textContent ?? ''));
  $('live-whep-copy').replaceWith(copyButton('WHEP URL', () => $('live-whep-url').textContent ?? ''));
  presets.subscribe(({ presets: list }) => {
    entries = list;
    const select = preset();
    const was = select.value || 'default';
    select.replaceChildren(...list.map((e) => new Option(`${e.preset.name} (${e.preset.id})`, e.preset.id)));
    select.value = list.some((e) => e.preset.id === was) ? was : 'default';
    render();
  });
  render();
}

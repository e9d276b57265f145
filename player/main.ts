import { apiToken, setApiToken } from './api.js';
import { $ } from './dom.js';
import { initFiles } from './files.js';
import { initGoLive } from './golive.js';
import { initHealth, showHealth } from './health.js';
import { initPresets } from './presets.js';
import { panelsChanged, startPolling } from './store.js';
import { initWatch } from './watch.js';
import { initWorkers } from './workers.js';

/**
 * The console at `/`: one page, one panel shown at a time, picked by the URL's hash
 * (#watch, #live, #health, #files, #presets, #workers), so every panel has a link and
 * the browser's back button works. Panels hidden with `hidden` leave the accessibility
 * tree, so a screen reader (and a keyboard) only meets the panel shown.
 */
const PANELS = ['watch', 'live', 'health', 'files', 'presets', 'workers'] as const;
type Panel = (typeof PANELS)[number];

function current(): Panel {
  const h = location.hash.slice(1);
  return (PANELS as readonly string[]).includes(h) ? (h as Panel) : 'watch';
}

function show(focus: boolean): void {
  const name = current();
  for (const p of PANELS) $(`panel-${p}`).hidden = p !== name;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (a.hash === `#${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `whipcast · ${document.querySelector(`nav a[href="#${name}"]`)?.textContent ?? name}`;
  panelsChanged();
  if (name === 'health') showHealth();
  // A link followed by keyboard lands on the panel's heading, not back at the top.
  if (focus) $(`panel-${name}`).querySelector<HTMLElement>('h2')?.focus();
}

function initToken(): void {
  const input = $<HTMLInputElement>('api-token');
  input.value = apiToken();
  input.addEventListener('change', () => {
    setApiToken(input.value.trim());
    $('access-note').textContent = 'Kept in this tab only.';
  });
  document.addEventListener('whipcast:needs-token', () => {
    const box = $<HTMLDetailsElement>('access');
    box.open = true;
    $('access-note').textContent = 'This server needs its API token for changes: enter it here.';
    input.focus();
  });
}

initToken();
initWatch();
initGoLive();
initHealth();
initFiles();
initPresets();
initWorkers();
addEventListener('hashchange', () => show(true));
show(false);
startPolling();

import { el, $ } from './dom.js';
import { ago } from './format.js';
import { jobs, workers } from './store.js';
import type { JobView, WorkerInfo } from './types.js';

/**
 * Workers and jobs: the worker processes (encoder families, load, what they run) and
 * the recent jobs, refreshed every 2 s while this panel is on screen and the tab is
 * visible; an unchanged list is a 304.
 */

const RECENT_JOBS = 25;

function workerRow(w: WorkerInfo): HTMLTableRowElement {
  const load = w.load.cpus > 0 ? w.load.load1 / w.load.cpus : 0;
  const meter = el('meter', { min: 0, max: 1.5, low: 0.7, high: 1, optimum: 0, value: Math.min(1.5, load) });
  meter.setAttribute('aria-label', `Load of ${w.id}`);
  return el(
    'tr',
    { dataset: { worker: w.id } },
    el('th', { scope: 'row' }, el('code', { textContent: w.id })),
    el('td', { textContent: w.families.join(', ') || '–' }),
    el('td', {}, meter, ` ${w.load.load1.toFixed(2)} / ${w.load.cpus} CPUs`),
    el('td', {
      textContent: w.jobs.length ? w.jobs.map((j) => `${j.id} (${j.queue})`).join(', ') : 'idle',
    }),
    el('td', { textContent: `${w.concurrency} per queue · ${w.queues.length} queues` }),
    el('td', { textContent: `${ago(w.startedAt)} · v${w.version}` }),
  );
}

function jobRow(j: JobView): HTMLTableRowElement {
  const p = j.progress;
  return el(
    'tr',
    { dataset: { job: j.id } },
    el('th', { scope: 'row' }, el('code', { textContent: j.id })),
    el('td', { textContent: j.queue === 'live' ? 'live' : 'file' }),
    el('td', {}, el('span', { className: `badge state-${j.state}`, textContent: j.state })),
    el('td', {
      textContent: p
        ? [
            j.queue === 'vod' ? `${p.percent.toFixed(0)}%` : null,
            p.speed ? `${p.speed.toFixed(2)}x` : null,
            p.fps ? `${Math.round(p.fps)} fps` : null,
          ]
            .filter(Boolean)
            .join(' · ') || '–'
        : '–',
    }),
    el('td', {
      textContent: j.worker
        ? `${j.worker}${j.encoder ? ` (${j.encoder.family}${j.encoder.hwFallback ? ', fallback' : ''})` : ''}`
        : '–',
    }),
    el('td', { textContent: ago(j.createdAt) }),
    el('td', { className: 'error', textContent: j.state === 'failed' ? (j.failedReason ?? '') : '' }),
  );
}

export function initWorkers(): void {
  workers.subscribe(({ workers: list }) => {
    $('worker-rows').replaceChildren(
      ...(list.length
        ? list.map(workerRow)
        : [el('tr', {}, el('td', { colSpan: 6, className: 'empty', textContent: 'No worker is running.' }))]),
    );
    $('worker-count').textContent = `${list.length} running`;
  });
  jobs.subscribe(({ jobs: list }) => {
    $('job-rows').replaceChildren(
      ...(list.length
        ? list.slice(0, RECENT_JOBS).map(jobRow)
        : [el('tr', {}, el('td', { colSpan: 7, className: 'empty', textContent: 'No jobs yet.' }))]),
    );
  });
}

import { api, ApiError, upload } from './api.js';
import { $, el } from './dom.js';
import { bytes, clock, timeLeftS } from './format.js';
import { STREAM_NAME } from './golive-model.js';
import { jobs, presets } from './store.js';
import { posterUrl } from './thumbs.js';
import type { JobView } from './types.js';
import { playFile } from './watch.js';

/**
 * Files: upload by file picker or drag and drop (POST /api/vod, multipart, with an
 * upload progress bar), then the job's progress (percent, fps, speed, time left) until
 * it plays; cancel a queued or running job; a failed one says why.
 */

function presetSelect(): HTMLSelectElement {
  return $<HTMLSelectElement>('upload-preset');
}

/** One upload in flight or just finished, above the job list. */
function startUpload(file: File): void {
  const idInput = $<HTMLInputElement>('upload-id');
  const id = idInput.value.trim();
  const error = $('upload-error');
  error.textContent = '';
  idInput.removeAttribute('aria-invalid');
  if (id && !STREAM_NAME.test(id)) {
    idInput.setAttribute('aria-invalid', 'true');
    error.textContent = 'Id: letters, digits, _ and - only (up to 64), starting with a letter or digit.';
    idInput.focus();
    return;
  }
  const form = new FormData();
  // Fields before the file: multer reads them as the body streams in.
  form.append('presetId', presetSelect().value || 'default');
  if (id) form.append('id', id);
  form.append('file', file, file.name);

  const bar = el('progress', { max: 100, value: 0 });
  const label = el('span', { textContent: `Uploading ${file.name}: 0%` });
  bar.setAttribute('aria-label', `Upload of ${file.name}`);
  const cancel = el('button', { type: 'button', textContent: 'Cancel upload' });
  const row = el('li', { className: 'upload' }, label, bar, cancel);
  $('uploads').prepend(row);

  const u = upload<JobView>('/api/vod', form, (sent, total) => {
    const pct = Math.floor((sent / total) * 100);
    bar.value = pct;
    label.textContent = `Uploading ${file.name}: ${pct}% (${bytes(sent)} of ${bytes(total)})`;
  });
  cancel.addEventListener('click', () => u.abort());
  u.done
    .then((job) => {
      bar.value = 100;
      label.textContent = `Uploaded ${file.name}: job ${job.id} queued`;
      cancel.remove();
      idInput.value = '';
      void jobs.refresh();
      setTimeout(() => row.remove(), 10_000);
    })
    .catch((e: unknown) => {
      cancel.remove();
      bar.remove();
      const msg = e instanceof ApiError ? e.message : String(e);
      label.textContent = `${file.name}: ${msg}`;
      label.className = 'error';
      if (e instanceof ApiError && e.field === 'id') idInput.setAttribute('aria-invalid', 'true');
    });
}

const STATE_WORDS: Record<JobView['state'], string> = {
  waiting: 'queued: waiting for a worker',
  delayed: 'waiting to retry',
  active: 'transcoding',
  completed: 'ready to play',
  failed: 'failed',
  cancelled: 'cancelled',
  unknown: 'unknown',
};

function jobItem(j: JobView): HTMLLIElement {
  const title = el('strong', { textContent: j.assetId });
  const meta = el('span', { className: 'muted', textContent: ` ${j.input} · preset ${j.presetId}` });
  const state = el('span', { className: `badge state-${j.state}`, textContent: STATE_WORDS[j.state] });
  const parts: (Node | null)[] = [el('div', {}, title, meta), el('div', {}, state)];
  if (j.state === 'active' || j.state === 'waiting' || j.state === 'delayed') {
    const p = j.progress;
    const pct = p?.percent ?? 0;
    const bar = el('progress', { max: 100, value: pct });
    bar.setAttribute('aria-label', `Transcode of ${j.assetId}`);
    const left = p ? timeLeftS(p) : null;
    const figures = p
      ? [
          `${pct.toFixed(0)}%`,
          p.fps ? `${Math.round(p.fps)} fps` : null,
          p.speed ? `${p.speed.toFixed(1)}x` : null,
          left !== null ? `${clock(left)} left` : null,
        ]
          .filter(Boolean)
          .join(' · ')
      : 'not started';
    const cancel = el('button', { type: 'button', textContent: 'Cancel' });
    cancel.setAttribute('aria-label', `Cancel ${j.assetId}`);
    cancel.addEventListener('click', () => {
      cancel.disabled = true;
      api('DELETE', `/api/jobs/${encodeURIComponent(j.id)}`)
        .then(() => jobs.refresh())
        .catch((e: unknown) => {
          cancel.disabled = false;
          $('upload-error').textContent =
            `Could not cancel ${j.assetId}: ${e instanceof Error ? e.message : e}`;
        });
    });
    parts.push(el('div', { className: 'job-progress' }, bar, el('span', { textContent: figures }), cancel));
  }
  if (j.state === 'failed') {
    parts.push(el('p', { className: 'error', textContent: j.failedReason ?? 'no reason given' }));
  }
  let poster: HTMLImageElement | null = null;
  if (j.state === 'completed') {
    const play = el('button', { type: 'button', textContent: 'Play' });
    play.setAttribute('aria-label', `Play ${j.assetId}`);
    play.addEventListener('click', () => {
      playFile(j.assetId);
      location.hash = '#watch';
    });
    parts.push(el('div', {}, play));
    poster = el('img', {
      className: 'thumb',
      src: posterUrl(j.assetId, false),
      alt: '',
      width: 128,
      height: 72,
    });
    poster.loading = 'lazy';
    poster.addEventListener('error', () => poster?.classList.add('missing'));
  }
  return el(
    'li',
    { className: 'job', dataset: { job: j.id, state: j.state } },
    poster ?? el('span', { className: 'thumb placeholder', attrs: { 'aria-hidden': 'true' } }),
    el('div', { className: 'job-body' }, ...parts),
  );
}

let shownKey = '';

function renderJobs(list: JobView[]): void {
  const files = list.filter((j) => j.queue === 'vod');
  // Rebuilt only when something shown changed, so a focused button stays focused.
  const key = JSON.stringify(files.map((j) => [j.id, j.state, j.progress, j.failedReason]));
  if (key === shownKey) return;
  shownKey = key;
  const ul = $('file-jobs');
  const focused = (document.activeElement as HTMLElement | null)?.getAttribute('aria-label');
  ul.replaceChildren(
    ...(files.length
      ? files.map(jobItem)
      : [el('li', { className: 'empty', textContent: 'No files yet: upload one above.' })]),
  );
  if (focused) ul.querySelector<HTMLElement>(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
}

export function initFiles(): void {
  const input = $<HTMLInputElement>('upload-file');
  $('upload-form').addEventListener('submit', (e) => e.preventDefault());
  input.addEventListener('change', () => {
    for (const f of input.files ?? []) startUpload(f);
    input.value = '';
  });
  const drop = $('drop');
  const over = (e: DragEvent): void => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.addEventListener('dragenter', over);
  drop.addEventListener('dragover', over);
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer?.files ?? []) startUpload(f);
  });
  presets.subscribe(({ presets: list }) => {
    const select = presetSelect();
    const was = select.value || 'default';
    select.replaceChildren(...list.map((e) => new Option(`${e.preset.name} (${e.preset.id})`, e.preset.id)));
    select.value = list.some((e) => e.preset.id === was) ? was : 'default';
  });
  jobs.subscribe(({ jobs: list }) => renderJobs(list));
}

import { COLORS, LiveChart, type LineSpec } from './chart.js';
import { $, el, panelShown } from './dom.js';
import { kbps } from './format.js';
import { StreamHistory, verdict, type SeriesKey } from './health-model.js';
import { jobs, presets, streams } from './store.js';
import { posterUrl } from './thumbs.js';
import type { StreamView } from './types.js';
import { playerLatency, playStream } from './watch.js';

/**
 * Stream health: for each live stream, charts of the last five minutes (ingest bit
 * rate, frame rate, packet loss and NACKs, key frame interval against the preset's GOP,
 * the transcode's speed, viewers, the latency this page's player measures) beside what
 * they mean in words: the transcode's state, degraded and why, a key frame warning.
 * Samples are taken on every poll of /api/streams, while the panel is hidden too.
 */

interface ChartSpec {
  key: string;
  title: string;
  unit: string;
  lines: (LineSpec & { series: SeriesKey })[];
  /** The caption's figure: the newest value(s), in words. */
  now: (h: StreamHistory) => string;
}

const n = (v: number | null, digits = 0, unit = ''): string =>
  v === null ? '–' : `${v.toFixed(digits)}${unit ? ` ${unit}` : ''}`;

const CHARTS: ChartSpec[] = [
  {
    key: 'kbps',
    title: 'Ingest bit rate',
    unit: 'kb/s',
    lines: [{ series: 'kbps', label: 'bit rate', color: COLORS.blue }],
    now: (h) => kbps(h.last('kbps')),
  },
  {
    key: 'fps',
    title: 'Frame rate',
    unit: 'fps',
    lines: [{ series: 'fps', label: 'frame rate', color: COLORS.green }],
    now: (h) => n(h.last('fps'), 0, 'fps'),
  },
  {
    key: 'loss',
    title: 'Packet loss and NACKs',
    unit: '/s',
    lines: [
      { series: 'lossPerS', label: 'lost', color: COLORS.red },
      { series: 'nacksPerS', label: 'NACKs', color: COLORS.amber, dashed: true },
    ],
    now: (h) => `${n(h.last('lossPerS'), 1)} lost/s, ${n(h.last('nacksPerS'), 1)} NACKs/s`,
  },
  {
    key: 'keyframes',
    title: 'Key frame interval',
    unit: 's',
    lines: [
      { series: 'keyframeS', label: 'interval', color: COLORS.blue },
      { series: 'gopS', label: 'preset GOP', color: COLORS.grey, dashed: true },
    ],
    now: (h) => `${n(h.last('keyframeS'), 1, 's')} (GOP ${n(h.last('gopS'), 1, 's')})`,
  },
  {
    key: 'speed',
    title: 'Transcode speed',
    unit: 'x',
    lines: [{ series: 'speed', label: 'speed', color: COLORS.green }],
    now: (h) => n(h.last('speed'), 2, 'x real time'),
  },
  {
    key: 'viewers',
    title: 'Viewers',
    unit: '',
    lines: [
      { series: 'hls', label: 'LL-HLS', color: COLORS.blue },
      { series: 'whep', label: 'WebRTC', color: COLORS.green, dashed: true },
    ],
    now: (h) => `${n(h.last('hls'))} LL-HLS, ${n(h.last('whep'))} WebRTC`,
  },
  {
    key: 'latency',
    title: 'Player latency',
    unit: 's',
    lines: [{ series: 'latencyS', label: 'latency', color: COLORS.amber }],
    now: (h) => n(h.last('latencyS'), 2, 's'),
  },
];

interface Card {
  history: StreamHistory;
  root: HTMLElement;
  charts: Map<string, LiveChart>;
}

const cards = new Map<string, Card>();

function card(s: StreamView): Card {
  const found = cards.get(s.id);
  if (found) return found;
  const id = s.id;
  const titleId = `health-title-${id}`;
  const poster = el('img', {
    className: 'poster',
    alt: `Latest picture of ${id}`,
    width: 160,
    height: 90,
    src: posterUrl(id, true),
  });
  poster.addEventListener('error', () => poster.classList.add('missing'));
  poster.addEventListener('load', () => poster.classList.remove('missing'));
  const watch = el('button', { type: 'button', textContent: 'Watch' });
  watch.setAttribute('aria-label', `Watch ${id}`);
  watch.addEventListener('click', () => {
    playStream(id);
    location.hash = '#watch';
  });
  const charts = new Map<string, LiveChart>();
  const figures = CHARTS.map((c) => {
    const box = el('div', { className: 'chart', dataset: { chart: c.key } });
    charts.set(c.key, new LiveChart(box, c.lines, c.unit));
    return el(
      'figure',
      {},
      el('figcaption', {}, `${c.title}: `, el('strong', { dataset: { now: c.key }, textContent: '–' })),
      box,
    );
  });
  const root = el(
    'article',
    { className: 'card health', dataset: { stream: id }, attrs: { 'aria-labelledby': titleId } },
    el(
      'div',
      { className: 'card-head' },
      poster,
      el(
        'div',
        {},
        el('h3', { id: titleId, textContent: id }),
        el(
          'p',
          {},
          el('span', { className: 'badge', dataset: { field: 'state' } }),
          ' ',
          el('span', { dataset: { field: 'reasons' } }),
        ),
        el('p', { className: 'muted', dataset: { field: 'ingest' } }),
        el('p', { dataset: { field: 'latency-note' }, className: 'muted' }),
        watch,
      ),
    ),
    el('p', {
      className: 'warning',
      dataset: { field: 'keyframe' },
      hidden: true,
      attrs: { role: 'status' },
    }),
    el('div', { className: 'charts' }, ...figures),
  );
  const c: Card = { history: new StreamHistory(), root, charts };
  cards.set(id, c);
  $('health-streams').append(root);
  return c;
}

function field(c: Card, name: string): HTMLElement {
  const f = c.root.querySelector<HTMLElement>(`[data-field="${name}"]`);
  if (!f) throw new Error(`field ${name} missing`);
  return f;
}

function sample(list: StreamView[]): void {
  const now = Date.now() / 1000;
  const jobList = jobs.value?.jobs ?? [];
  const presetList = presets.value?.presets ?? [];
  for (const s of list) {
    const job = jobList.find((j) => j.queue === 'live' && j.assetId === s.id);
    const preset = presetList.find((p) => p.preset.id === (s.presetId ?? job?.presetId ?? 'default'))?.preset;
    card(s).history.add(s, job, preset, playerLatency(s.id), now);
  }
  for (const [id, c] of cards) {
    if (list.some((s) => s.id === id)) continue;
    for (const chart of c.charts.values()) chart.destroy();
    c.root.remove();
    cards.delete(id);
  }
  if (panelShown('health')) render(list);
}

function render(list: StreamView[]): void {
  $('health-empty').hidden = list.length > 0;
  const jobList = jobs.value?.jobs ?? [];
  const presetList = presets.value?.presets ?? [];
  for (const s of list) {
    const c = card(s);
    const job = jobList.find((j) => j.queue === 'live' && j.assetId === s.id);
    const preset = presetList.find((p) => p.preset.id === (s.presetId ?? job?.presetId ?? 'default'))?.preset;
    const v = verdict(s, job, preset);
    const state = field(c, 'state');
    state.textContent = v.state === 'waiting' ? 'waiting for a worker' : v.state;
    state.className = `badge state-${v.state}`;
    field(c, 'reasons').textContent = v.reasons.join('; ');
    const video = s.ingest?.video;
    field(c, 'ingest').textContent = [
      `preset ${preset?.id ?? s.presetId ?? 'default'}`,
      video
        ? `${video.codec.toUpperCase()} ${video.width ?? '?'}x${video.height ?? '?'}${video.profile ? ` ${video.profile}` : ''}`
        : 'no video',
      s.ingest ? `WebRTC ${s.ingest.connectionState}` : null,
    ]
      .filter(Boolean)
      .join(' · ');
    field(c, 'latency-note').textContent =
      playerLatency(s.id) === null
        ? 'Latency is measured while this page plays the stream: press Watch.'
        : '';
    const warn = field(c, 'keyframe');
    warn.hidden = v.keyframeWarning === null;
    warn.textContent = v.keyframeWarning ?? '';
    for (const spec of CHARTS) {
      const now = c.root.querySelector<HTMLElement>(`[data-now="${spec.key}"]`);
      if (now) now.textContent = spec.now(c.history);
      c.charts.get(spec.key)?.set(
        c.history.t,
        spec.lines.map((l) => c.history.values[l.series]),
      );
    }
  }
}

export function initHealth(): void {
  streams.subscribe(({ streams: list }) => sample(list));
  // Live pictures follow the stream while the panel is on screen.
  setInterval(() => {
    if (!panelShown('health') || document.visibilityState !== 'visible') return;
    for (const [id, c] of cards) {
      const img = c.root.querySelector<HTMLImageElement>('img.poster');
      if (img) img.src = posterUrl(id, true);
    }
  }, 5000);
}

/** The panel was opened: draw what was sampled meanwhile. */
export function showHealth(): void {
  render(streams.value?.streams ?? []);
}

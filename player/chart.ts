import type uPlot from 'uplot';

/**
 * The health panel's live charts: uPlot (a maintained 51 KB library), loaded the first
 * time a chart is drawn, so the console's first paint never waits for it.
 */
let loading: Promise<typeof uPlot> | null = null;

export function loadCharts(): Promise<typeof uPlot> {
  loading ??= new Promise((resolve, reject) => {
    const css = Object.assign(document.createElement('link'), {
      rel: 'stylesheet',
      href: '/vendor/uplot.css',
    });
    document.head.append(css);
    const script = Object.assign(document.createElement('script'), { src: '/vendor/uplot.js', async: true });
    script.addEventListener('load', () => {
      const u = (window as unknown as { uPlot?: typeof uPlot }).uPlot;
      if (u) resolve(u);
      else reject(new Error('uPlot did not load'));
    });
    script.addEventListener('error', () => reject(new Error('uPlot did not load')));
    document.head.append(script);
  });
  return loading;
}

export interface LineSpec {
  label: string;
  color: string;
  /** Dashed: a reference line (the preset's GOP), not a measurement. */
  dashed?: boolean;
}

/** Colours readable on the console's dark background, and told apart by more than hue (dashes). */
export const COLORS = {
  blue: '#60a5fa',
  green: '#4ade80',
  amber: '#fbbf24',
  red: '#f87171',
  grey: '#a3a3a3',
};

/** One chart: a time axis and one or more lines, sized to its container. */
export class LiveChart {
  readonly #box: HTMLElement;
  readonly #lines: LineSpec[];
  readonly #unit: string;
  #plot: uPlot | null = null;
  #data: [number[], ...(number | null)[][]] = [[]];
  #observer: ResizeObserver | null = null;

  constructor(box: HTMLElement, lines: LineSpec[], unit: string) {
    this.#box = box;
    this.#lines = lines;
    this.#unit = unit;
  }

  /** New data (x: seconds since the epoch); draws once uPlot is loaded and the box has a width. */
  set(t: number[], ys: (number | null)[][]): void {
    this.#data = [t, ...ys];
    this.#box.dataset.samples = String(t.length);
    this.#box.dataset.last = String(t[t.length - 1] ?? '');
    if (this.#plot) {
      this.#plot.setData(this.#data);
      return;
    }
    void loadCharts().then((U) => this.#create(U));
  }

  #create(U: typeof uPlot): void {
    if (this.#plot || !this.#box.isConnected) return;
    const width = this.#box.clientWidth;
    if (width === 0) return; // hidden: drawn when shown (set() comes again)
    const unit = this.#unit;
    const fmt = (v: number | null | undefined): string =>
      v === null || v === undefined ? '–' : `${v >= 100 ? Math.round(v) : Number(v.toFixed(2))} ${unit}`;
    const axis = {
      stroke: '#c8c8c8',
      grid: { stroke: '#2e2e2e', width: 1 },
      ticks: { stroke: '#2e2e2e', width: 1 },
    };
    const time = (v: number): string =>
      new Date(v * 1000).toLocaleTimeString([], {
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hour12: false,
      });
    this.#plot = new U(
      {
        width,
        height: 140,
        cursor: { y: false },
        // A key of the lines (no values: the caption has the newest), only where there are two.
        legend: { show: this.#lines.length > 1, live: false },
        scales: {
          x: { time: true },
          y: { range: (_u, min, max) => [Math.min(0, min), Math.max(max * 1.15, 1)] },
        },
        axes: [
          { ...axis, space: 80, values: (_u, vals) => vals.map(time) },
          {
            ...axis,
            size: 56,
            values: (_u, vals) => vals.map((v) => (v >= 1000 ? `${v / 1000}k` : String(v))),
          },
        ],
        series: [
          { label: 'time' },
          ...this.#lines.map((l) => ({
            label: l.label,
            stroke: l.color,
            width: l.dashed ? 1.5 : 2,
            ...(l.dashed ? { dash: [6, 4] } : {}),
            points: { show: false },
            value: (_u: uPlot, v: number | null) => fmt(v),
          })),
        ],
      },
      this.#data,
      this.#box,
    );
    // The canvas says nothing to a screen reader; the figure's caption holds the numbers.
    this.#plot.root.setAttribute('aria-hidden', 'true');
    this.#observer = new ResizeObserver(() => {
      const w = this.#box.clientWidth;
      if (w > 0 && this.#plot && w !== this.#plot.width) this.#plot.setSize({ width: w, height: 140 });
    });
    this.#observer.observe(this.#box);
  }

  destroy(): void {
    this.#observer?.disconnect();
    this.#plot?.destroy();
    this.#plot = null;
  }
}

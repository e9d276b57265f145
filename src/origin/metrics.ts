import { Counter, Histogram, type Registry } from 'prom-client';
import type { LiveEvent } from '../packager/index.js';

/**
 * The origin's live figures, from the bus events every origin hears: parts published
 * per stream and rendition, and how long after ingest each was published.
 */
export class OriginMetrics {
  readonly #parts: Counter<'stream' | 'rendition'>;
  readonly #latency: Histogram<'rendition'>;

  constructor(registry: Registry) {
    this.#parts = new Counter({
      name: 'whipcast_parts_published_total',
      help: 'LL-HLS parts published, by stream and rendition',
      labelNames: ['stream', 'rendition'],
      registers: [registry],
    });
    this.#latency = new Histogram({
      name: 'whipcast_part_publish_latency_seconds',
      help: "Time from the arrival of a part's last frame at ingest to the part being published",
      labelNames: ['rendition'],
      buckets: [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5],
      registers: [registry],
    });
  }

  /** One bus event: a published part counts, and its latency is observed. */
  observe(e: LiveEvent): void {
    if (!e.part) return;
    this.#parts.inc({ stream: e.streamId, rendition: e.rendition });
    const latency = partLatencyMs(e);
    if (latency !== null) this.#latency.observe({ rendition: e.rendition }, latency / 1000);
  }
}

/**
 * PROGRAM-DATE-TIME is anchored at the arrival of the run's first frame, so the wall
 * clock of a part's end is (close to) the arrival of its last frame; the event says when
 * the packager published it.
 */
export function partLatencyMs(e: LiveEvent): number | null {
  if (!e.part) return null;
  const { msn, part } = e.part;
  const seg =
    e.state.open?.msn === msn ? e.state.open : (e.state.segments.find((s) => s.msn === msn) ?? null);
  const parts = seg?.parts;
  if (!seg || !parts || parts.length <= part) return null;
  let endMs = seg.pdtMs;
  for (let i = 0; i <= part; i++) endMs += (parts[i]?.duration ?? 0) * 1000;
  const ms = e.at - endMs;
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

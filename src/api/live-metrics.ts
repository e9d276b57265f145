import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StreamView } from '../core/streams.js';
import type { LiveEvent } from '../packager/live-bus.js';

/**
 * Per-stream live figures: ingest (read from the current publish sessions at scrape
 * time) and packaging (from the bus events every API process hears). Stream ids become
 * label values: they are validated ids, and an ended stream's series go at the next scrape.
 */
export class LiveMetrics {
  readonly #parts: Counter<'stream' | 'rendition'>;
  readonly #latency: Histogram<'rendition'>;

  constructor(registry: Registry, streams: () => StreamView[]) {
    const live = () => streams().filter((s) => s.state === 'live' && s.ingest);
    const gauge = (
      name: string,
      help: string,
      pick: (s: StreamView) => Array<[kind: 'video' | 'audio', value: number | null | undefined]>,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['stream', 'kind'],
        registers: [registry],
        collect() {
          this.reset();
          for (const s of live()) {
            for (const [kind, v] of pick(s)) if (typeof v === 'number') this.set({ stream: s.id, kind }, v);
          }
        },
      });
    gauge(
      'whipcast_ingest_bitrate_kbps',
      'Received bit rate of each live stream over the last seconds',
      (s) => [
        ['video', s.ingest?.video?.bitrateKbps],
        ['audio', s.ingest?.audio?.bitrateKbps],
      ],
    );
    gauge('whipcast_ingest_packets_received', 'RTP packets received by the current publish session', (s) => [
      ['video', s.ingest?.video?.packetsReceived],
      ['audio', s.ingest?.audio?.packetsReceived],
    ]);
    gauge('whipcast_ingest_packets_lost', 'RTP packets the current publish session never received', (s) => [
      ['video', s.ingest?.video?.packetsLost],
      ['audio', s.ingest?.audio?.packetsLost],
    ]);
    gauge('whipcast_ingest_nacks_sent', 'NACKs sent to the publisher by the current session', (s) => [
      ['video', s.ingest?.video?.nacksSent],
    ]);
    gauge(
      'whipcast_ingest_plis_sent',
      'Key frame requests (PLI) sent to the publisher by the current session',
      (s) => [['video', s.ingest?.video?.plisSent]],
    );
    gauge('whipcast_ingest_fps', 'Received video frame rate', (s) => [['video', s.ingest?.video?.fps]]);
    gauge('whipcast_ingest_keyframe_interval_seconds', 'Media time between the last two key frames', (s) => [
      [
        'video',
        s.ingest?.video?.keyframeIntervalMs == null ? null : s.ingest.video.keyframeIntervalMs / 1000,
      ],
    ]);
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

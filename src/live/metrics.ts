import { Gauge, type Registry } from 'prom-client';
import type { StreamView } from '../core/streams.js';

/**
 * Per-stream ingest figures, read from the current publish sessions at scrape time.
 * Stream ids become label values: they are validated ids, and an ended stream's series go
 * at the next scrape.
 */
export function registerIngestMetrics(registry: Registry, streams: () => StreamView[]): void {
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
    ['video', s.ingest?.video?.keyframeIntervalMs == null ? null : s.ingest.video.keyframeIntervalMs / 1000],
  ]);
}

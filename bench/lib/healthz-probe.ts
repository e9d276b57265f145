/**
 * For bench/ingest-load: GET /healthz every PROBE_EVERY_MS on a new connection each time
 * (as a load balancer's health check does), in a process of its own so that the
 * publishers' event loop never delays a probe. Over IPC: `{ cmd: 'reset' }` starts a new
 * window, `{ cmd: 'report' }` answers the window's latencies; `{ cmd: 'stop' }` exits. A
 * probe that fails or takes over PROBE_TIMEOUT_MS counts as that long. Exits when its
 * parent goes away.
 */
import http from 'node:http';

export type ProbeCommand = { cmd: 'reset' } | { cmd: 'report' } | { cmd: 'stop' };
export interface ProbeReport {
  n: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
}

const url = process.env.PROBE_URL ?? '';
const everyMs = Number(process.env.PROBE_EVERY_MS ?? 50);
const PROBE_TIMEOUT_MS = 2000;
let window: number[] = [];
let failed = 0;
let stopped = false;

function probe(): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) failed++;
        resolve(performance.now() - t0);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      failed++;
      resolve(PROBE_TIMEOUT_MS);
    });
  });
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

async function loop(): Promise<void> {
  while (!stopped) {
    const started = performance.now();
    window.push(await probe());
    await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (performance.now() - started))));
  }
}

process.on('message', (m: ProbeCommand) => {
  if (m.cmd === 'reset') {
    window = [];
    failed = 0;
    process.send?.({ ok: true });
  } else if (m.cmd === 'report') {
    const sorted = [...window].sort((a, b) => a - b);
    const report: ProbeReport = {
      n: sorted.length,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? NaN,
      failed,
    };
    process.send?.(report);
  } else {
    stopped = true;
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
void loop();

/**
 * The client side of bench/origin, in its own process (child_process.fork, pinned to its
 * own core when there are two) so that its CPU is not the origin's. Commands come over
 * IPC; each gets a `done` answer with its id (`hold` first sends `sent`):
 *
 *   { cmd: 'connect', host, port, n }  → opens n keep-alive connections (the held clients)
 *   { cmd: 'hold', path, gzip, expect } → one blocking request per connection, all at once;
 *        `sent` once every request is written, `done` when every answer is in: when each
 *        arrived, statuses, and how many answers did not list `expect`
 *   { cmd: 'load', host, port, paths, connections, seconds } → `connections` fresh
 *        keep-alive connections GET `paths` round-robin for `seconds`: requests and bytes
 *   { cmd: 'close' } → closes every connection, then the process exits
 */
import { gunzipSync } from 'node:zlib';
import { connectMany, RawConnection, type RawResponse } from './origin-http.js';

export type ClientCommand =
  | { id: number; cmd: 'connect'; host: string; port: number; n: number }
  | { id: number; cmd: 'hold'; path: string; gzip: boolean; expect: string }
  | {
      id: number;
      cmd: 'load';
      host: string;
      port: number;
      paths: string[];
      connections: number;
      seconds: number;
      gzip: boolean;
    }
  | { id: number; cmd: 'close' };

export interface HoldResult {
  /** Arrival of each answer listing the awaited part, epoch ms; NaN for any other outcome. */
  received: number[];
  statuses: Record<string, number>;
  /** 200 answers that did not list the awaited part. */
  wrong: number;
  errors: number;
}

export interface LoadResult {
  requests: number;
  bytes: number;
  non200: number;
  errors: number;
  seconds: number;
}

export type ClientAnswer =
  | { id: number; kind: 'sent'; sentMs: number }
  | { id: number; kind: 'done'; connected?: number; hold?: HoldResult; load?: LoadResult }
  | { id: number; kind: 'error'; error: string };

const wallMs = (): number => performance.timeOrigin + performance.now();
let held: RawConnection[] = [];

function answer(a: ClientAnswer): void {
  process.send?.(a);
}

async function hold(c: Extract<ClientCommand, { cmd: 'hold' }>): Promise<HoldResult> {
  const headers = c.gzip ? 'Accept-Encoding: gzip, deflate, br\r\n' : '';
  const responses: Array<RawResponse | null> = new Array<RawResponse | null>(held.length).fill(null);
  let errors = 0;
  const all = held.map((conn, i) =>
    conn.get(c.path, { headers, keepBody: true }).then(
      (r) => void (responses[i] = r),
      () => void errors++,
    ),
  );
  // The requests are in the kernel's socket buffers once write() returned: tell the parent.
  answer({ id: c.id, kind: 'sent', sentMs: wallMs() });
  await Promise.all(all);
  // Checked after every answer is in, so that checking takes nothing from the timing.
  const statuses: Record<string, number> = {};
  let wrong = 0;
  const received = responses.map((r) => {
    if (!r) return NaN;
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status !== 200) return NaN;
    const gz = /\r\ncontent-encoding:\s*gzip/i.test(r.head);
    const text = (gz ? gunzipSync(r.body) : r.body).toString();
    if (text.includes(c.expect)) return r.receivedMs;
    wrong++;
    return NaN;
  });
  held = held.filter((h) => !h.closed);
  return { received, statuses, wrong, errors };
}

async function load(c: Extract<ClientCommand, { cmd: 'load' }>): Promise<LoadResult> {
  const conns = await connectMany(c.host, c.port, c.connections);
  const headers = c.gzip ? 'Accept-Encoding: gzip, deflate, br\r\n' : '';
  let requests = 0;
  let bytes = 0;
  let non200 = 0;
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const end = t0 + c.seconds * 1000;
  const loop = async (conn: RawConnection): Promise<void> => {
    while (performance.now() < end && !conn.closed) {
      const path = c.paths[next++ % c.paths.length]!;
      try {
        const r = await conn.get(path, { headers });
        requests++;
        bytes += r.bodyBytes;
        if (r.status !== 200) non200++;
      } catch {
        errors++;
        return;
      }
    }
  };
  await Promise.all(conns.map(loop));
  const seconds = (performance.now() - t0) / 1000;
  for (const conn of conns) conn.close();
  return { requests, bytes, non200, errors, seconds };
}

process.on('message', (m: ClientCommand) => {
  void (async () => {
    try {
      switch (m.cmd) {
        case 'connect':
          held.push(...(await connectMany(m.host, m.port, m.n)));
          return answer({ id: m.id, kind: 'done', connected: held.length });
        case 'hold':
          return answer({ id: m.id, kind: 'done', hold: await hold(m) });
        case 'load':
          return answer({ id: m.id, kind: 'done', load: await load(m) });
        case 'close':
          for (const h of held) h.close();
          held = [];
          answer({ id: m.id, kind: 'done' });
          process.disconnect();
          return;
      }
    } catch (e) {
      answer({ id: m.id, kind: 'error', error: e instanceof Error ? e.message : String(e) });
    }
  })();
});
process.on('disconnect', () => {
  for (const h of held) h.close();
  process.exit(0);
});

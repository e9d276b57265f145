/**
 * How a live stream reacts when the machine gets busy under it: one 1280x720p30 publisher
 * (pre-encoded, copied) on the built-in `default` preset through `npm start`; after a
 * quiet start, CPU hogs (busy loops at the service's own priority, one per core unless
 * told) take the machine. It prints when the transcode noticed (the worker's "adapting"
 * line), each step it took, and the live edge of the lowest rung's playlist over time
 * (wall clock − PROGRAM-DATE-TIME of the end of the last listed part): how high it got and
 * when it was back under 1.5 s.
 *
 *   npm run bench:adaptation -- [--quiet 10] [--loaded 40] [--hogs 2] [--preset default]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spawnOwned, terminate } from '../src/core/child.js';
import { ServiceProcess } from '../test/helpers/service-process.js';
import { WhipTestClient } from '../test/helpers/whip-client.js';
import { encodeSource } from './lib/encoded-source.js';

const { values } = parseArgs({
  options: {
    quiet: { type: 'string', default: '10' },
    loaded: { type: 'string', default: '40' },
    hogs: { type: 'string', default: String(os.availableParallelism()) },
    preset: { type: 'string', default: 'default' },
  },
});
const QUIET_S = Number(values.quiet);
const LOADED_S = Number(values.loaded);
const HOGS = Number(values.hogs);
const STREAM = 'adapt';
const RUNG = '360p';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wall clock (epoch ms) of the end of the last part or segment a media playlist lists; null without a date. */
function listedEndMs(playlist: string): number | null {
  const lines = playlist.split('\n');
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      at = i;
      break;
    }
  }
  if (at < 0) return null;
  let end = Date.parse(lines[at]!.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
  let parts = 0;
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('#EXTINF:')) {
      end += parseFloat(line.slice(8)) * 1000;
      parts = 0;
    } else if (line.startsWith('#EXT-X-PART:')) {
      parts += parseFloat(/DURATION=([\d.]+)/.exec(line)?.[1] ?? '0') * 1000;
    }
  }
  return end + parts;
}

interface Step {
  atMs: number;
  msg: string;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-bench-adapt-'));
  const hogs: ReturnType<typeof spawnOwned>[] = [];
  let service: ServiceProcess | null = null;
  let client: WhipTestClient | null = null;
  try {
    const ts = path.join(dir, 'source.ts');
    encodeSource(ts, { width: 1280, height: 720, kbps: 2500 });
    service = await ServiceProcess.start({
      env: { PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data'), HWACCEL: 'none' },
    });
    const base = service.url;
    const t0 = Date.now();
    client = await WhipTestClient.publish({
      url: `${base}/whip/${STREAM}?preset=${values.preset}`,
      inputFile: ts,
      seconds: QUIET_S + LOADED_S + 10,
    });
    console.log(
      `adaptation bench: 1280x720p30 in, preset ${values.preset}, ${os.availableParallelism()} cores; ` +
        `${QUIET_S} s quiet, then ${HOGS} CPU hog(s) for ${LOADED_S} s; live edge of ${RUNG}`,
    );

    const edge: { atMs: number; lagMs: number }[] = [];
    let hogAt = 0;
    const end = t0 + (QUIET_S + LOADED_S) * 1000;
    while (Date.now() < end) {
      if (!hogAt && Date.now() >= t0 + QUIET_S * 1000) {
        hogAt = Date.now();
        for (let i = 0; i < HOGS; i++) hogs.push(spawnOwned(process.execPath, ['-e', 'for(;;){}']));
      }
      const res = await fetch(`${base}/hls/${STREAM}/${RUNG}.m3u8`).catch(() => null);
      const listed = res?.ok ? listedEndMs(await res.text()) : null;
      if (listed !== null) edge.push({ atMs: Date.now(), lagMs: Date.now() - listed });
      await sleep(250);
    }
    const stream = (await (await fetch(`${base}/api/streams/${STREAM}`)).json()) as {
      transcode?: { state: string; reason?: string };
      ladder?: { name: string }[];
    };

    const steps: Step[] = service.output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{') && /"msg":"[^"]*adapting"/.test(l))
      .map((l) => JSON.parse(l) as { time: number; msg: string; changes?: string[] })
      .map((l) => ({ atMs: l.time, msg: `${l.msg} (${(l.changes ?? []).join('; ')})` }));
    const quiet = edge.filter((e) => e.atMs < hogAt);
    const loaded = edge.filter((e) => e.atMs >= hogAt);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const worst = loaded.reduce((m, e) => (e.lagMs > m.lagMs ? e : m), { atMs: hogAt, lagMs: 0 });
    const lastSlow = [...loaded].reverse().find((e) => e.lagMs > 1500);
    const s = (ms: number) => (ms / 1000).toFixed(1);

    console.log(`  live edge before the hogs: median ${s(median(quiet.map((e) => e.lagMs)))} s`);
    for (const st of steps) console.log(`  +${s(st.atMs - hogAt)} s after the hogs started: ${st.msg}`);
    if (steps.length === 0) console.log('  no adaptation step was taken');
    console.log(
      `  live edge under load: worst ${s(worst.lagMs)} s (+${s(worst.atMs - hogAt)} s), ` +
        `last over 1.5 s at +${lastSlow ? s(lastSlow.atMs - hogAt) : '—'} s, ` +
        `median of the last 10 s ${s(median(loaded.filter((e) => e.atMs > end - 10_000).map((e) => e.lagMs)))} s`,
    );
    console.log(
      `  reaction (hogs → first step): ${steps[0] ? `${s(steps[0].atMs - hogAt)} s` : '—'}; ` +
        `stream now ${stream.transcode?.state ?? '?'}${stream.transcode?.reason ? ` (${stream.transcode.reason})` : ''}; ` +
        `ladder ${stream.ladder?.map((r) => r.name).join(', ') ?? '?'}`,
    );
  } finally {
    await Promise.all(hogs.map((h) => terminate(h, 500)));
    await client?.close();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

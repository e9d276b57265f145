/**
 * bench/whep-adapt: a WHEP viewer in rung mode whose bandwidth drops to --limit kb/s. The
 * viewer (a werift peer, test/helpers/whep-client.ts) first plays at whatever the server
 * picks, then reports the limit as its bandwidth estimate (a REMB every 250 ms, as a
 * browser's receive-side estimator would once its link narrowed). The bench prints:
 *
 *  - settle time: first REMB → the server names a rung whose measured rate (video + audio,
 *    from /api/streams) fits under the limit, and → the first frame of it at the viewer;
 *  - what the viewer received once settled (RTP payload bytes, video and audio, kb/s);
 *  - the longest wait between two complete frames, from the first REMB on (a freeze).
 *
 * Targets (issue 14): settled within 10 s, received under the limit, no wait over 500 ms.
 * The service runs every role (the low-latency preset's ladder is what is switched
 * between) with a private Redis; the publisher sends a --width x --height picture.
 *
 *   npm run bench:whep-adapt -- [--limit 1000] [--before 4] [--after 16] [--width 854] [--height 480]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { WhepTestClient } from '../test/helpers/whep-client.js';
import { WhipTestClient } from '../test/helpers/whip-client.js';
import { type BenchRig, loadAverage, startBenchRig, waitForLadder } from './lib/bench-service.js';

const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '1000' },
    before: { type: 'string', default: '4' },
    after: { type: 'string', default: '16' },
    width: { type: 'string', default: '854' },
    height: { type: 'string', default: '480' },
  },
});
const limitBps = Number(values.limit) * 1000;
const STREAM = 'adapt';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Viewer {
  viewerId: string;
  sending: string;
  rung?: string;
  estimateBps?: number;
}

async function main(): Promise<void> {
  let rig: BenchRig | null = null;
  let publisher: WhipTestClient | null = null;
  let viewer: WhepTestClient | null = null;
  let remb: NodeJS.Timeout | null = null;
  const received: { atMs: number; bytes: number }[] = [];
  console.log(
    `WHEP rung mode, one viewer limited to ${values.limit} kb/s after ${values.before} s; publisher ` +
      `${values.width}x${values.height}p30 on the low-latency preset; ${os.cpus().length} CPUs, load average ` +
      loadAverage(),
  );
  try {
    rig = await startBenchRig();
    const { base } = rig;
    publisher = await WhipTestClient.publish({
      url: `${base}/whip/${STREAM}?preset=low-latency`,
      width: Number(values.width),
      height: Number(values.height),
      fps: 30,
    });
    await waitForLadder(base, STREAM);
    const v = await WhepTestClient.create({
      url: `${base}/whep/${STREAM}`,
      mode: 'rung',
      onRtp: (_kind, rtp) => received.push({ atMs: Date.now(), bytes: rtp.payload.length }),
    });
    viewer = v;
    await v.play();
    const me = async (): Promise<Viewer | undefined> => {
      const view = (await (await fetch(`${base}/api/streams/${STREAM}`)).json()) as {
        viewers?: { whepViewers?: Viewer[] };
      };
      return view.viewers?.whepViewers?.find((s) => v.location.endsWith(s.viewerId));
    };
    await sleep(Number(values.before) * 1000);
    const start = (await me())?.rung ?? '?';
    const ladder = (await (await fetch(`${base}/hls/${STREAM}/index.m3u8`)).text())
      .split('\n')
      .filter((l) => l.startsWith('#EXT-X-STREAM-INF'))
      .map((l) => /BANDWIDTH=(\d+)/.exec(l)?.[1] ?? '?');
    console.log(`playing rung ${start}; the ladder's BANDWIDTH values: ${ladder.join(', ')}`);

    const t0 = Date.now();
    remb = setInterval(() => void v.sendRemb(limitBps), 250);
    let namedAt: number | null = null;
    let named = '';
    const framesBefore = v.frames.length;
    const end = t0 + Number(values.after) * 1000;
    while (Date.now() < end) {
      const s = await me();
      if (namedAt === null && s?.sending === 'rung' && s.rung !== start) {
        namedAt = Date.now();
        named = s.rung ?? '';
      }
      await sleep(100);
    }
    // The first frame of the new rung: the first key frame (SPS) after it was named.
    const switchedFrame =
      namedAt === null
        ? undefined
        : v.frames
            .slice(framesBefore)
            .find((f) => f.atMs >= namedAt! - 100 && f.data.includes(Buffer.from([0, 0, 0, 1, 0x67])));
    let worst = 0;
    const after = v.frames.filter((f) => f.atMs >= t0);
    for (let i = 1; i < after.length; i++) worst = Math.max(worst, after[i]!.atMs - after[i - 1]!.atMs);
    const settled = namedAt === null ? end : namedAt;
    const tail = received.filter((r) => r.atMs >= settled + 2000 && r.atMs < end);
    const tailSeconds = (end - settled - 2000) / 1000;
    const kbps = tailSeconds > 0 ? (tail.reduce((n, r) => n + r.bytes, 0) * 8) / tailSeconds / 1000 : NaN;

    console.log('');
    console.log(`limit ${values.limit} kb/s (REMB) from t = 0`);
    console.log(
      namedAt === null
        ? `never left rung ${start} within ${values.after} s: ABOVE TARGET`
        : `server switched ${start} → ${named} at t = ${((namedAt - t0) / 1000).toFixed(1)} s, its first frame at the viewer ` +
            `t = ${switchedFrame ? ((switchedFrame.atMs - t0) / 1000).toFixed(1) : '?'} s   (target <= 10 s)   ` +
            `${switchedFrame && switchedFrame.atMs - t0 <= 10_000 ? 'ok' : 'ABOVE TARGET'}`,
    );
    console.log(
      `received once settled: ${kbps.toFixed(0)} kb/s of RTP payload (video + audio)   ` +
        `${kbps < Number(values.limit) ? 'ok' : 'ABOVE TARGET'}`,
    );
    console.log(
      `longest wait between complete frames from t = 0: ${worst} ms (target < 500)   ${worst < 500 ? 'ok' : 'ABOVE TARGET'}`,
    );
    console.log(`load average at the end ${loadAverage()}`);
  } finally {
    if (remb) clearInterval(remb);
    await viewer?.close();
    await publisher?.close().catch(() => undefined);
    await rig?.close();
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

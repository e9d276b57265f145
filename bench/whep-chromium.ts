/**
 * bench/whep-chromium: Chromium (real libwebrtc, Debian's /usr/bin/chromium) watches a live
 * stream on the player page in rung mode, and the bench reads every second what the server
 * knows of that viewer (GET /api/streams/{id}): the rung it sends, whether that rung is on
 * trial, Chromium's estimate (its REMB) and the rate actually sent. It prints one line per
 * sample and then, per rung, the seconds spent on it and the median REMB over the rate sent.
 *
 * Use it to see how a browser's receive-side estimate behaves against the rung chooser
 * (src/ingest/whep/rung-choice.ts): whether the top rung holds on a clear link, and how
 * trials go. The service runs every role with a private Redis.
 *
 *   npm run bench:whep-chromium -- [--preset low-latency] [--width 1280] [--height 720] [--seconds 60]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../test/helpers/browser.js';
import { WhipTestClient } from '../test/helpers/whip-client.js';
import { type BenchRig, loadAverage, startBenchRig, waitForLadder } from './lib/bench-service.js';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'low-latency' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    seconds: { type: 'string', default: '60' },
  },
});
const STREAM = 'chromium';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Viewer {
  viewerId: string;
  rung?: string;
  trial?: boolean;
  estimateBps?: number;
  bytesSent: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  let rig: BenchRig | null = null;
  let publisher: WhipTestClient | null = null;
  let browser: Browser | null = null;
  const seconds = Number(values.seconds);
  console.log(
    `Chromium on the player page (rung mode), ${values.width}x${values.height}p30 publisher on the ` +
      `${values.preset} preset, ${seconds} s; ${os.cpus().length} CPUs, load average ` +
      loadAverage(),
  );
  try {
    rig = await startBenchRig();
    const { base } = rig;
    publisher = await WhipTestClient.publish({
      url: `${base}/whip/${STREAM}?preset=${encodeURIComponent(values.preset)}`,
      width: Number(values.width),
      height: Number(values.height),
      fps: 30,
      seconds: seconds + 60,
    });
    await waitForLadder(base, STREAM);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${base}/?stream=${STREAM}&protocol=webrtc`);

    const perRung = new Map<string, { seconds: number; ratios: number[] }>();
    let trials = 0;
    let wasOnTrial = false;
    let lastBytes: number | null = null;
    for (let i = 1; i <= seconds; i++) {
      await sleep(1000);
      const view = (await (await fetch(`${base}/api/streams/${STREAM}`)).json()) as {
        viewers?: { whepViewers?: Viewer[] };
      };
      const v = view.viewers?.whepViewers?.[0];
      if (!v) {
        console.log(`${String(i).padStart(3)} s  (no viewer yet)`);
        continue;
      }
      const sentKbps = lastBytes === null ? NaN : ((v.bytesSent - lastBytes) * 8) / 1000;
      lastBytes = v.bytesSent;
      const onTrial = v.trial === true;
      if (onTrial && !wasOnTrial) trials++;
      wasOnTrial = onTrial;
      const rung = v.rung ?? '-';
      const r = perRung.get(rung) ?? { seconds: 0, ratios: [] };
      r.seconds++;
      if (v.estimateBps !== undefined && sentKbps > 0) r.ratios.push(v.estimateBps / 1000 / sentKbps);
      perRung.set(rung, r);
      console.log(
        `${String(i).padStart(3)} s  rung ${rung.padEnd(5)}${onTrial ? ' (trial)' : '        '}  ` +
          `REMB ${v.estimateBps === undefined ? '-' : (v.estimateBps / 1000).toFixed(0)} kb/s  ` +
          `sent ${Number.isNaN(sentKbps) ? '-' : sentKbps.toFixed(0)} kb/s`,
      );
    }
    console.log('');
    for (const [rung, r] of perRung)
      console.log(
        `rung ${rung}: ${r.seconds} s, median REMB / sent ${r.ratios.length ? median(r.ratios).toFixed(2) : '-'}`,
      );
    console.log(`trials started: ${trials}`);
  } finally {
    await browser?.close();
    await publisher?.close().catch(() => undefined);
    await rig?.close();
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

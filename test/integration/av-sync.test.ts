import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  avOffsetsMs,
  beepOnsets,
  downloadRendition,
  flashAndBeep,
  flashOnsets,
} from '../helpers/av-offset.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** The publisher's audio path is this much longer than its video's. */
const AUDIO_DELAY_MS = 150;
const SOURCE = flashAndBeep({ width: 320, height: 180, fps: 30, everyS: 2, seconds: 9 });
/** Flashes before this (output seconds) are left out: both tracks' first reports come within it. */
const SYNCED_FROM_S = 1.5;

/**
 * A/V sync from RTCP sender reports, end to end: a werift publisher sends ffmpeg-encoded
 * video that flashes white and audio that beeps at the same instants, with its audio RTP
 * held back 150 ms; the service transcodes it to LL-HLS; the ended renditions are
 * downloaded from the origin and ffmpeg finds each flash and beep. With sender reports
 * (as OBS and browsers send them) the beeps must fall within 20 ms of their flashes; the
 * same publisher without reports, stamped by arrival alone, shows the 150 ms; one whose
 * first reports come 5 s in shows both, before and after them. KEEP_AVSYNC=1 keeps the
 * downloaded renditions (their folder is printed nowhere: /tmp/whipcast-avsync-*).
 */
describe('A/V sync from RTCP sender reports', () => {
  let t: Started;
  let dir = '';
  const clients: WhipTestClient[] = [];

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
    dir = await mkdtemp(path.join(os.tmpdir(), 'whipcast-avsync-'));
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await t?.close();
    if (dir && !process.env.KEEP_AVSYNC) await rm(dir, { recursive: true, force: true });
    turn?.release();
  });

  /** Publishes 9 s of the source and returns audio minus video (ms) at each flash of the HLS from `fromS` on. */
  async function publishAndMeasure(
    stream: string,
    reports: { senderReports: boolean; firstSenderReportMs?: number; fromS?: number },
  ): Promise<number[]> {
    const { senderReports, firstSenderReportMs } = reports;
    const base = t.service.url;
    const client = await WhipTestClient.publish({
      url: `${base}/whip/${stream}?preset=light`,
      videoSource: SOURCE.video,
      audioSource: SOURCE.audio,
      fps: 30,
      gop: 30,
      x264Preset: 'ultrafast',
      audioDelayMs: AUDIO_DELAY_MS,
      senderReports,
      ...(firstSenderReportMs === undefined ? {} : { firstSenderReportMs }),
    });
    clients.push(client);
    await client.mediaEnded();
    await new Promise((r) => setTimeout(r, AUDIO_DELAY_MS + 300)); // the held-back audio goes out too
    expect((await client.delete()).status).toBe(200);
    await client.close();

    const master = await (await fetch(`${base}/hls/${stream}/index.m3u8`)).text();
    const video = master.split('\n').find((l) => l.endsWith('.m3u8'));
    const audio = /#EXT-X-MEDIA:TYPE=AUDIO[^\n]*URI="([^"]+)"/.exec(master)?.[1];
    if (!video || !audio) throw new Error(`no video or audio rendition in\n${master}`);
    const files: string[] = [];
    for (const rendition of [video, audio]) {
      const url = `${base}/hls/${stream}/${rendition}`;
      await waitFor(
        `${rendition} EXT-X-ENDLIST`,
        async () => ((await (await fetch(url)).text()).includes('#EXT-X-ENDLIST') ? true : null),
        30_000,
        200,
      );
      const file = path.join(dir, `${stream}-${path.basename(rendition, '.m3u8')}.mp4`);
      await downloadRendition(url, file);
      files.push(file);
    }
    const flashes = await flashOnsets(files[0]!);
    const beeps = await beepOnsets(files[1]!);
    const offsets = avOffsetsMs(flashes, beeps, reports.fromS ?? SYNCED_FROM_S);
    const how = !senderReports
      ? 'arrival only (no sender reports)'
      : firstSenderReportMs === undefined
        ? 'with sender reports'
        : `first sender reports ${firstSenderReportMs / 1000} s in`;
    console.log(
      `${how}: ` +
        `audio 150 ms late at the publisher → audio minus video in the HLS at each flash: ` +
        `${offsets.map((o) => `${o} ms`).join(', ')} (flashes at ${flashes.map((f) => f.toFixed(3)).join(', ')} s)`,
    );
    return offsets;
  }

  it('puts audio held back 150 ms within 20 ms of its video', async () => {
    const offsets = await publishAndMeasure('avsync', { senderReports: true });
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(20);
  }, 90_000);

  it('shows the 150 ms without sender reports (the arrival-only path), so the check above can fail', async () => {
    const offsets = await publishAndMeasure('avsync-arrival', { senderReports: false });
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets) expect(o).toBeGreaterThan(100);
  }, 90_000);

  it('moves a running stream from arrival time onto the sender clock at its first reports', async () => {
    // Reports from 5 s (source time) on: the flashes at 6 and 8 s are after them, the earlier ones before.
    const offsets = await publishAndMeasure('avsync-late', {
      senderReports: true,
      firstSenderReportMs: 5000,
      fromS: 0,
    });
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets.slice(0, -2)) expect(o).toBeGreaterThan(100);
    for (const o of offsets.slice(-2)) expect(Math.abs(o)).toBeLessThanOrEqual(20);
  }, 90_000);
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { parseVp8Frame } from '../../src/core/codecs/vpx-frame.js';
import { ChromiumPublishingRig } from '../helpers/chromium-publisher.js';
import { checkLiveLadder, decodeFirstSegment, firstPartMs } from '../helpers/live-check.js';
import { WhepTestClient } from '../helpers/whep-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

interface LayerView {
  rid: string;
  width: number | null;
  height: number | null;
  fps: number;
  bitrateKbps: number;
  keyframeIntervalMs: number | null;
  packetsReceived: number;
}

/**
 * 960x540 in three layers: libwebrtc keeps at most 2 simulcast layers below 960x540
 * (its simulcast format table), dropping the top one (measured at 640x360).
 */
const LAYERS = [
  { rid: 'q', scale: 4, maxBitrateKbps: 150 },
  { rid: 'h', scale: 2, maxBitrateKbps: 400 },
  { rid: 'f', scale: 1, maxBitrateKbps: 1000 },
];

/** The first key frame's size of what a VP8 viewer received. */
function firstKeySize(v: WhepTestClient): { width: number; height: number } | null {
  for (const f of v.frames) {
    const info = parseVp8Frame(f.data);
    if (info?.keyframe && info.width !== null && info.height !== null)
      return { width: info.width, height: info.height };
  }
  return null;
}

/**
 * Chromium sending three simulcast layers (sendEncodings with rids, VP8) over WHIP:
 * each layer received on its own, listed in the stream view; the transcode takes the
 * highest; a WHEP viewer per layer (`?layer=`) gets that layer, one without gets the
 * highest; when the highest stops, the transcode and the viewers move to the next at
 * its key frame, the viewers' sequence numbers going on without a jump.
 */
describe('simulcast from Chromium over WHIP', () => {
  let rig: ChromiumPublishingRig | undefined;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    rig = await ChromiumPublishingRig.start();
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await rig?.close();
    turn?.release();
  });

  it('lists the layers, transcodes the highest into a playable ladder, and plays each layer over WHEP', async () => {
    const r = rig!;
    const base = r.url;
    const { publisher, result } = await r.publish({
      whipUrl: `${base}/whip/simul?preset=light`,
      codec: 'vp8',
      width: 960,
      height: 540,
      encodings: LAYERS,
      // All three layers from the start (see ChromiumPublishOptions.startBitrateKbps: without
      // it, measured, Chromium sent only the two lower layers for 20 s).
      startBitrateKbps: 1500,
    });
    if (process.env.SAVE_OFFERS) writeFileSync(process.env.SAVE_OFFERS, result.offer);
    expect(result.status).toBe(201);
    expect(result.answer).toMatch(/a=simulcast:recv q;h;f/);
    expect(result.answer).toMatch(/a=rid:f recv/);

    const ms = await firstPartMs(base, 'simul', '360p', result.postedAtMs).catch(async (e: unknown) => {
      console.log('stream view', JSON.stringify(await (await fetch(`${base}/api/streams/simul`)).json()));
      console.log('Chromium sends', JSON.stringify(await publisher.outbound()));
      throw e;
    });
    console.log(`simulcast VP8 (Chromium) POST → first part: ${ms} ms`);

    const start = Date.now();
    let video: { codec: string; width: number | null; layer?: string; layers?: LayerView[] } | undefined;
    do {
      await new Promise((r) => setTimeout(r, 500));
      const view = (await (await fetch(`${base}/api/streams/simul`)).json()) as {
        ingest?: { video: typeof video };
      };
      video = view.ingest?.video;
    } while ((video?.layers ?? []).some((l) => l.width === null) && Date.now() - start < 10_000);
    console.log('layers', JSON.stringify(video?.layers), 'sent', JSON.stringify(await publisher.outbound()));
    expect(video).toMatchObject({ codec: 'vp8', layer: 'f', width: 960 });
    expect(video?.layers?.map((l) => [l.rid, l.width, l.height])).toEqual([
      ['q', 240, 135],
      ['h', 480, 270],
      ['f', 960, 540],
    ]);
    for (const l of video?.layers ?? []) {
      expect(l.fps).toBeGreaterThan(5);
      expect(l.bitrateKbps).toBeGreaterThan(0);
    }

    await checkLiveLadder(base, 'simul', { video: ['360p', '240p'], audio: 'audio', reloads: 4 });
    expect(await decodeFirstSegment(base, 'simul', '360p')).toMatchObject({
      codec: 'h264',
      width: 640,
      height: 360,
    });

    // A viewer per layer, and one that takes the default (the highest).
    const bad = await WhepTestClient.create({ url: `${base}/whep/simul`, videoCodec: 'vp8', layer: 'x' });
    r.viewers.push(bad);
    const refused = await bad.post(await bad.offer());
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/layers are q, h, f/);

    const byLayer = new Map<string, WhepTestClient>();
    for (const rid of ['q', 'h', 'f', 'default']) {
      const v = await WhepTestClient.create({
        url: `${base}/whep/simul`,
        videoCodec: 'vp8',
        ...(rid === 'default' ? {} : { layer: rid }),
      });
      r.viewers.push(v);
      await v.play();
      byLayer.set(rid, v);
    }
    const until = Date.now() + 10_000;
    while ([...byLayer.values()].some((v) => v.frames.length < 20) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const sizes = Object.fromEntries([...byLayer].map(([rid, v]) => [rid, firstKeySize(v)]));
    expect(sizes).toEqual({
      q: { width: 240, height: 135 },
      h: { width: 480, height: 270 },
      f: { width: 960, height: 540 },
      default: { width: 960, height: 540 },
    });
    const view = (await (await fetch(`${base}/api/streams/simul`)).json()) as {
      viewers?: { whepViewers?: { layer?: string }[] };
    };
    expect((view.viewers?.whepViewers ?? []).map((v) => v.layer).sort()).toEqual(['f', 'f', 'h', 'q']);

    // The highest layer stops: the transcode and the default viewer go on with h, each
    // switched at a key frame of h, the viewer's numbering continuous across the switch.
    const viewer = byLayer.get('default')!;
    const framesBefore = viewer.frames.length;
    await publisher.setActive('f', false);
    const switched = Date.now() + 10_000;
    let layers: (string | undefined)[];
    let source: string | undefined;
    do {
      await new Promise((r) => setTimeout(r, 300));
      const v = (await (await fetch(`${base}/api/streams/simul`)).json()) as {
        ingest?: { video?: { layer?: string } };
        viewers?: { whepViewers?: { layer?: string }[] };
      };
      source = v.ingest?.video?.layer;
      layers = (v.viewers?.whepViewers ?? []).map((x) => x.layer).sort();
    } while ((source !== 'h' || layers.join() !== 'h,h,h,q') && Date.now() < switched);
    // The ?layer=f viewer falls back to the highest there is too.
    expect({ source, layers }).toEqual({ source: 'h', layers: ['h', 'h', 'h', 'q'] });
    await new Promise((r) => setTimeout(r, 1000));
    const after = viewer.frames.slice(framesBefore).map((f) => parseVp8Frame(f.data));
    expect(after.some((i) => i?.keyframe && i.width === 480 && i.height === 270)).toBe(true);
    const seqs = viewer.video.map((p) => p.seq);
    const gaps = seqs.slice(1).filter((s, i) => ((s - seqs[i]!) & 0xffff) !== 1).length;
    expect(gaps).toBeLessThanOrEqual(2); // a retransmission or two may come out of order
    expect(await publisher.state()).toBe('connected');
    await checkLiveLadder(base, 'simul', { video: ['360p', '240p'], audio: 'audio', reloads: 3 });
    await publisher.stop();
  }, 120_000);

  it('on the passthrough preset, VP8 layers are not passed through: the top layer is transcoded, the reason shown', async () => {
    const r = rig!;
    const base = r.url;
    const { result } = await r.publish({
      whipUrl: `${base}/whip/simulpass?preset=passthrough`,
      codec: 'vp8',
      width: 960,
      height: 540,
      encodings: LAYERS,
      startBitrateKbps: 1500,
    });
    expect(result.status).toBe(201);
    // The preset's fallback ladder (720p and 360p) fitted to the 960x540 top layer: 360p.
    const ms = await firstPartMs(base, 'simulpass', '360p', result.postedAtMs);
    console.log(`simulcast VP8 on passthrough (fallback) POST → first part: ${ms} ms`);
    const view = (await (await fetch(`${base}/api/streams/simulpass`)).json()) as {
      passthrough?: { active: boolean; reason?: string };
      transcode?: { state: string };
    };
    expect(view.passthrough).toMatchObject({
      active: false,
      reason: 'vp8 cannot be passed through: only H.264 is packaged as it is received',
    });
    expect(view.transcode?.state).toBe('running');
    await checkLiveLadder(base, 'simulpass', { video: ['360p'], audio: 'audio', reloads: 3 });
    expect(await decodeFirstSegment(base, 'simulpass', '360p')).toMatchObject({ codec: 'h264', width: 640 });
  }, 60_000);
});

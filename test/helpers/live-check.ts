import { h264NalType, splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from '@jest/globals';
import { checkMultivariantPlaylist, LlhlsTracker } from './llhls-check.js';
import { waitFor } from './service-process.js';
import { WhepTestClient, type ReceivedFrame } from './whep-client.js';

const run = promisify(execFile);

/**
 * Milliseconds from `postedAtMs` (the WHIP POST) to the first part of `rendition`: the
 * media playlist is polled (every 20 ms) until it exists; if it lists no part yet, a
 * blocking reload for the first part of its first segment returns when that is published.
 */
export async function firstPartMs(
  base: string,
  stream: string,
  rendition: string,
  postedAtMs: number,
): Promise<number> {
  const url = `${base}/hls/${stream}/${rendition}.m3u8`;
  const text = await waitFor(
    `${rendition}.m3u8`,
    async () => {
      const r = await fetch(url);
      return r.status === 200 ? r.text() : null;
    },
    60_000,
    20,
  );
  if (!text.includes('#EXT-X-PART:')) {
    const msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? '1');
    const res = await fetch(`${url}?_HLS_msn=${msn}&_HLS_part=0`);
    expect(res.status).toBe(200);
    await res.text();
  }
  return Date.now() - postedAtMs;
}

/**
 * The stream's ladder as a player sees it: the multivariant playlist names `video` and
 * `audio`, and `reloads` blocking reloads of the first video rendition each pass the
 * strict LL-HLS checker.
 */
export async function checkLiveLadder(
  base: string,
  stream: string,
  o: { video: string[]; audio: string; reloads: number },
): Promise<void> {
  // index.m3u8 waits for a complete segment in every rendition.
  const master = await waitFor(
    'index.m3u8',
    async () => {
      const r = await fetch(`${base}/hls/${stream}/index.m3u8`);
      return r.status === 200 ? r.text() : null;
    },
    30_000,
    100,
  );
  checkMultivariantPlaylist(master, { video: o.video, audio: o.audio });
  const rendition = o.video[0]!;
  const tracker = new LlhlsTracker({
    rendition,
    renditions: [...o.video, o.audio],
    kind: 'video',
    ended: false,
  });
  let p = tracker.check(await (await fetch(`${base}/hls/${stream}/${rendition}.m3u8`)).text());
  for (let i = 0; i < o.reloads; i++) {
    const last = p.segments.length ? p.mediaSequence + p.segments.length : p.mediaSequence;
    const parts = p.trailingParts?.length ?? 0;
    const res = await fetch(`${base}/hls/${stream}/${rendition}.m3u8?_HLS_msn=${last}&_HLS_part=${parts}`);
    expect(res.status).toBe(200);
    p = tracker.check(await res.text());
  }
}

/**
 * Decodes the rendition's init segment and first complete segment with ffmpeg: the
 * number of video frames in it, and its codec and size (what a player would decode).
 */
export async function decodeFirstSegment(
  base: string,
  stream: string,
  rendition: string,
): Promise<{ frames: number; codec: string; width: number; height: number }> {
  const playlist = await (await fetch(`${base}/hls/${stream}/${rendition}.m3u8`)).text();
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
  const segment = playlist.split('\n').find((l) => l.endsWith('.m4s') && !l.startsWith('#'));
  if (!init || !segment) throw new Error(`no init or segment in\n${playlist}`);
  const get = async (name: string) =>
    Buffer.from(await (await fetch(`${base}/hls/${stream}/${name}`)).arrayBuffer());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'whipcast-seg-'));
  try {
    const file = path.join(dir, 'first.mp4');
    await writeFile(file, Buffer.concat([await get(init), await get(segment)]));
    const { stdout } = await run(process.env.FFPROBE_PATH ?? 'ffprobe', [
      ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file],
    ]);
    const s = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams[0] ?? {};
    return {
      frames: Number(s['nb_read_frames']),
      codec: String(s['codec_name']),
      width: Number(s['width']),
      height: Number(s['height']),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * WHEP passthrough of a stream published in `codec`: a viewer offering H.264 only gets
 * 406 naming the codec (`name`), and a viewer offering `codec` gets `minFrames` frames
 * within 15 s, which are returned. Viewers are pushed to `owned` for the caller to close.
 */
export async function checkWhepPassthrough(
  base: string,
  stream: string,
  o: { codec: 'h265' | 'av1'; name: RegExp; minFrames: number; owned: { close(): Promise<void> }[] },
): Promise<ReceivedFrame[]> {
  // Passthrough only: an H.264-only viewer is told what is published.
  const h264Only = await WhepTestClient.create({ url: `${base}/whep/${stream}`, mode: 'passthrough' });
  o.owned.push(h264Only);
  const refused = await h264Only.post(await h264Only.offer());
  expect(refused.status).toBe(406);
  expect(refused.headers.get('content-type')).toMatch(/text\/plain/);
  expect(await refused.text()).toMatch(o.name);

  // The codec bridge: by default the same viewer watches the ladder (H.264) in rung mode.
  const bridged = await WhepTestClient.create({ url: `${base}/whep/${stream}` });
  o.owned.push(bridged);
  await bridged.play();
  const bridgedUntil = Date.now() + 15_000;
  while (bridged.frames.length < 10 && Date.now() < bridgedUntil)
    await new Promise((r) => setTimeout(r, 100));
  expect(bridged.frames.length).toBeGreaterThanOrEqual(10);
  expect(splitAnnexB(bridged.frames[0]!.data).map(h264NalType)).toEqual(expect.arrayContaining([7, 8, 5]));

  const viewer = await WhepTestClient.create({ url: `${base}/whep/${stream}`, videoCodec: o.codec });
  o.owned.push(viewer);
  await viewer.play();
  const until = Date.now() + 15_000;
  while (viewer.frames.length < o.minFrames && Date.now() < until)
    await new Promise((r) => setTimeout(r, 100));
  if (viewer.frames.length < o.minFrames) {
    const v = (await (await fetch(`${base}/api/streams/${stream}`)).json()) as {
      viewers?: unknown;
      ingest?: unknown;
    };
    console.log(
      'stream figures',
      JSON.stringify(v.ingest),
      JSON.stringify(v.viewers),
      'video packets',
      viewer.video.length,
    );
  }
  expect(viewer.frames.length).toBeGreaterThanOrEqual(o.minFrames);
  return viewer.frames;
}

import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { Fmp4Splitter } from '../../src/packager/fmp4-splitter.js';
import { LocalLiveBus, type LiveEvent } from '../../src/packager/live/bus.js';
import { createLivePackagerFactory } from '../../src/packager/live/packager.js';
import { renderLivePlaylist, renditionReport } from '../../src/packager/live/playlist.js';
import type { LiveRenditionState } from '../../src/packager/live/state.js';
import type { LivePackagerLike } from '../../src/packager/live/types.js';
import { parseMediaPlaylist } from '../../src/packager/playlist/media.js';
import type { RenditionSpec } from '../../src/packager/rendition.js';
import { LlhlsTracker, checkMultivariantPlaylist } from '../helpers/llhls-check.js';
import { MemoryStorage } from '../helpers/memory-storage.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../test/fixtures/fmp4/${name}`, import.meta.url));
const H264 = fixture('h264.mp4'); // 160x90, 30 fps, 2 s, a keyframe every second, 1/3 s fragments
const AAC = fixture('aac.mp4'); // 2 s of 48 kHz AAC, 16-frame fragments

const specs: RenditionSpec[] = [
  { name: '90p', kind: 'video', width: 160, height: 90, fps: 30, nominalBitrateKbps: 40 },
  { name: 'audio', kind: 'audio', nominalBitrateKbps: 24 },
];
const NAMES = specs.map((s) => s.name);
const log = pino({ level: 'silent' });
const STREAM = 'cam1';

/** Init + the first `n` fragments of a fixture, as an ffmpeg that stopped there would have written. */
function firstFragments(buf: Buffer, n: number): Buffer {
  const s = new Fmp4Splitter();
  const evs = s.push(buf);
  const init = evs.find((e) => e.type === 'init')!;
  const frags = evs.filter((e) => e.type === 'fragment').slice(0, n);
  return Buffer.concat([init.data, ...frags.map((f) => f.data)]);
}

const chunks = (data: Buffer, size = 4096): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
    })(),
  );

async function feedRun(
  p: LivePackagerLike,
  media: Record<string, Buffer>,
  epochMs = Date.now(),
): Promise<void> {
  const run = p.startRun(epochMs);
  await Promise.all(Object.entries(media).map(([name, buf]) => pipeline(chunks(buf), run.writable(name))));
}

const tick = () => new Promise((r) => setImmediate(r));

/** Checks every state the packager publishes, as the origin would render it. */
class Watcher {
  readonly states = new Map<string, LiveRenditionState>();
  readonly trackers = new Map<string, LlhlsTracker>();
  readonly problems: string[] = [];
  readonly events: LiveEvent[] = [];

  constructor(bus: LocalLiveBus) {
    for (const s of specs) {
      this.trackers.set(s.name, new LlhlsTracker({ rendition: s.name, renditions: NAMES, kind: s.kind }));
    }
    bus.subscribe((e) => this.#on(e));
  }

  #on(e: LiveEvent): void {
    this.events.push(e);
    this.states.set(e.rendition, e.state);
    const reports = [...this.states.values()]
      .filter((s) => s.rendition !== e.rendition)
      .map(renditionReport)
      .filter((r) => r !== null);
    // Before every rendition has published, reports are incomplete: check once all have.
    if (reports.length < NAMES.length - 1) return;
    try {
      const text = renderLivePlaylist(e.state, { reports });
      this.trackers.get(e.rendition)!.check(text, { ended: e.state.ended });
      this.trackers
        .get(e.rendition)!
        .check(renderLivePlaylist(e.state, { reports, skip: true }), { ended: e.state.ended });
    } catch (err) {
      this.problems.push((err as Error).message);
    }
  }
}

function setup(windowSegments = 6) {
  const storage = new MemoryStorage();
  const bus = new LocalLiveBus();
  const watcher = new Watcher(bus);
  const factory = createLivePackagerFactory({ storage, bus, windowSegments });
  const make = () =>
    factory({ streamId: STREAM, renditions: specs, partSeconds: 1 / 3, segmentSeconds: 1, log });
  return { storage, bus, watcher, make };
}

/** Whether a stored part starts with a sync sample, read from its moof with the given init segment. */
function keyframe(storage: MemoryStorage, init: string, part: string): boolean {
  const s = new Fmp4Splitter();
  s.push(storage.objects.get(`${STREAM}/${init}`)!.body);
  const ev = s.push(storage.objects.get(`${STREAM}/${part}`)!.body);
  const f = ev.find((e) => e.type === 'fragment');
  if (!f || f.type !== 'fragment') throw new Error(`${part} holds no fragment`);
  return f.keyframe;
}

describe('LivePackager', () => {
  it('packages runs into strict LL-HLS playlists, checked at every published part', async () => {
    const { storage, watcher, make } = setup(6);
    const p = make();
    for (let i = 0; i < 7; i++) await feedRun(p, { '90p': H264, audio: AAC }, 1_700_000_000_000 + i * 10_000);
    await p.end();
    await p.close();
    await tick();
    expect(watcher.problems).toEqual([]);
    expect(watcher.events.filter((e) => e.part).length).toBe(7 * (6 + 6));

    const video = parseMediaPlaylist(storage.text(`${STREAM}/90p.m3u8`));
    new LlhlsTracker({ rendition: '90p', renditions: NAMES, kind: 'video' }).check(
      storage.text(`${STREAM}/90p.m3u8`),
      {
        ended: true,
      },
    );
    new LlhlsTracker({ rendition: 'audio', renditions: NAMES, kind: 'audio' }).check(
      storage.text(`${STREAM}/audio.m3u8`),
      { ended: true },
    );
    // 14 segments of 1 s: window 9..14, a discontinuity at every run's first segment.
    expect(video.mediaSequence).toBe(9);
    expect(video.segments.map((s) => s.uri)).toEqual([9, 10, 11, 12, 13, 14].map((m) => `90p_${m}.m4s`));
    expect(video.segments.map((s) => s.discontinuity === true)).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
    expect(video.segments.map((s) => s.map?.uri)).toEqual([
      undefined,
      undefined,
      '90p_init_6.mp4',
      undefined,
      '90p_init_7.mp4',
      undefined,
    ]);
    expect(video.map?.uri).toBe('90p_init_5.mp4');
    // Segments 3..8 left the window; 9 - 6 = 3: msn 1 and 2 are past the grace period.
    expect(video.discontinuitySequence).toBe(3);
    for (const gone of ['90p_1.m4s', '90p_1.0.m4s', '90p_2.2.m4s', 'audio_2.m4s', '90p_init_1.mp4']) {
      expect(storage.has(`${STREAM}/${gone}`)).toBe(false);
    }
    for (const kept of ['90p_3.m4s', '90p_3.0.m4s', 'audio_3.m4s', '90p_init_2.mp4']) {
      expect(storage.has(`${STREAM}/${kept}`)).toBe(true);
    }
    // A segment is its parts, concatenated.
    const seg = storage.objects.get(`${STREAM}/90p_14.m4s`)!.body;
    const parts = [0, 1, 2].map((i) => storage.objects.get(`${STREAM}/90p_14.${i}.m4s`)!.body);
    expect(seg.equals(Buffer.concat(parts))).toBe(true);
    // INDEPENDENT=YES exactly where the media has a keyframe.
    let map = video.map!.uri;
    for (const s of video.segments) {
      if (s.map) map = s.map.uri;
      for (const part of s.parts ?? [])
        expect(part.independent === true).toBe(keyframe(storage, map, part.uri));
    }
    const mv = checkMultivariantPlaylist(storage.text(`${STREAM}/index.m3u8`), {
      video: ['90p'],
      audio: 'audio',
    });
    expect(mv.variants[0]).toMatchObject({
      codecs: ['avc1.64000b', 'mp4a.40.2'],
      resolution: { width: 160, height: 90 },
      frameRate: 30,
      audio: 'audio',
    });
  });

  it('writes index.m3u8 only once every rendition of the run has a part', async () => {
    const { storage, make } = setup();
    const p = make();
    const run = p.startRun(Date.now());
    const v = run.writable('90p');
    const a = run.writable('audio');
    await pipeline(chunks(H264), v);
    expect(storage.has(`${STREAM}/index.m3u8`)).toBe(false);
    await pipeline(chunks(AAC), a);
    await p.end();
    await p.close();
    expect(storage.has(`${STREAM}/index.m3u8`)).toBe(true);
  });

  it('leaves audio out of index.m3u8 when the run has none', async () => {
    const { storage, make } = setup();
    const p = make();
    await feedRun(p, { '90p': H264 });
    await p.end();
    await p.close();
    const mv = checkMultivariantPlaylist(storage.text(`${STREAM}/index.m3u8`), { video: ['90p'] });
    expect(mv.renditions).toEqual([]);
    expect(mv.variants[0]?.codecs).toEqual(['avc1.64000b']);
    expect(storage.has(`${STREAM}/audio.m3u8`)).toBe(false);
  });

  it('keeps renditions aligned with EXT-X-GAP when one ended its run a segment early', async () => {
    const { storage, watcher, make } = setup();
    const p = make();
    // Audio stops after 2 fragments (0.68 s): one segment; video has two.
    await feedRun(p, { '90p': H264, audio: firstFragments(AAC, 2) });
    await feedRun(p, { '90p': H264, audio: AAC });
    await p.end();
    await p.close();
    await tick();
    expect(watcher.problems).toEqual([]);
    const audio = parseMediaPlaylist(storage.text(`${STREAM}/audio.m3u8`));
    expect(audio.segments.map((s) => [s.uri, s.gap === true, s.discontinuity === true])).toEqual([
      ['audio_1.m4s', false, false],
      ['audio_2.m4s', true, false],
      ['audio_3.m4s', false, true],
      ['audio_4.m4s', false, false],
    ]);
    expect(audio.segments[1]!.duration).toBe(1);
    expect(storage.has(`${STREAM}/audio_2.m4s`)).toBe(false);
  });

  it('is resumed by the next worker: the open segment is completed, numbering goes on after a discontinuity', async () => {
    const { storage, watcher, make } = setup();
    const a = make();
    // The worker dies after 4 video fragments (1 complete segment + 1 part) and 4 audio ones.
    const run = a.startRun(1_700_000_000_000);
    const vw = run.writable('90p');
    const aw = run.writable('audio');
    const h = firstFragments(H264, 4);
    const au = firstFragments(AAC, 4);
    await new Promise<void>((r) => vw.write(h, () => r()));
    await new Promise<void>((r) => aw.write(au, () => r()));
    await a.close();
    const before = storage.text(`${STREAM}/90p.m3u8`);
    const tracker = new LlhlsTracker({ rendition: '90p', renditions: NAMES, kind: 'video' });
    const p0 = tracker.check(before);
    expect(p0.trailingParts?.map((x) => x.uri)).toEqual(['90p_2.0.m4s']);

    const b = make();
    await feedRun(b, { '90p': H264, audio: AAC }, 1_700_000_100_000);
    const during = storage.text(`${STREAM}/90p.m3u8`);
    const p1 = tracker.check(during);
    await b.end();
    await b.close();
    await tick();
    const p2 = tracker.check(storage.text(`${STREAM}/90p.m3u8`), { ended: true });
    expect(p1.segments.map((s) => s.uri)).toEqual(['90p_1.m4s', '90p_2.m4s', '90p_3.m4s', '90p_4.m4s']);
    // The unfinished segment 2 became a segment of its one published part.
    expect(p2.segments[1]).toMatchObject({ duration: expect.closeTo(1 / 3, 5) });
    expect(
      storage.objects
        .get(`${STREAM}/90p_2.m4s`)!
        .body.equals(storage.objects.get(`${STREAM}/90p_2.0.m4s`)!.body),
    ).toBe(true);
    expect(p2.segments[2]).toMatchObject({ discontinuity: true, map: { uri: '90p_init_2.mp4' } });
    expect(watcher.problems).toEqual([]);
  });

  it('resumes from the stored state: the next worker deletes exactly what left the window before it', async () => {
    const { storage, bus, make } = setup(6);
    const a = make();
    for (let i = 0; i < 4; i++) await feedRun(a, { '90p': H264, audio: AAC });
    await a.close();
    const stored = JSON.parse(storage.text(`${STREAM}/90p.state.json`)) as { state: LiveRenditionState };
    // What players were shown is what the state holds.
    const shown = parseMediaPlaylist(storage.text(`${STREAM}/90p.m3u8`));
    expect(shown.mediaSequence).toBe(stored.state.mediaSequence);
    expect(shown.segments.map((x) => x.uri)).toEqual(stored.state.segments.map((x) => x.uri));
    expect(shown.trailingParts?.map((x) => x.uri)).toEqual(stored.state.open?.parts.map((x) => x.uri));
    const b = make();
    for (let i = 0; i < 4; i++) await feedRun(b, { '90p': H264, audio: AAC });
    await b.end();
    await b.close();
    await bus.close();
    // Every deleted name was written once, and segment 1 left with all of its parts.
    const written = new Set(storage.puts);
    expect(storage.deletes.filter((k) => !written.has(k))).toEqual([]);
    const seg1 = storage.puts.filter((k) => /^cam1\/90p_1(\.\d+)?\.m4s$/.test(k));
    expect(seg1.length).toBeGreaterThan(1);
    for (const k of seg1) expect(storage.has(k)).toBe(false);
  });

  it('ends, without a run, the playlists a previous worker left open', async () => {
    const { storage, make } = setup();
    const a = make();
    const run = a.startRun(Date.now());
    const vw = run.writable('90p');
    const aw = run.writable('audio');
    await new Promise<void>((r) => vw.write(firstFragments(H264, 4), () => r()));
    await new Promise<void>((r) => aw.write(firstFragments(AAC, 2), () => r()));
    await a.close();
    const b = make();
    await b.end();
    await b.close();
    for (const name of NAMES) {
      const p = new LlhlsTracker({ rendition: name, renditions: NAMES }).check(
        storage.text(`${STREAM}/${name}.m3u8`),
        {
          ended: true,
        },
      );
      expect(p.trailingParts).toBeUndefined();
    }
    expect(parseMediaPlaylist(storage.text(`${STREAM}/90p.m3u8`)).segments.map((s) => s.uri)).toEqual([
      '90p_1.m4s',
      '90p_2.m4s',
    ]);
  });

  it('starts a new session of an ended stream in a fresh window, never reusing a name', async () => {
    const { storage, watcher, make } = setup();
    const a = make();
    await feedRun(a, { '90p': H264, audio: AAC });
    await a.end();
    await a.close();
    const b = make();
    await feedRun(b, { '90p': H264, audio: AAC });
    await b.end();
    await b.close();
    await tick();
    const p = parseMediaPlaylist(storage.text(`${STREAM}/90p.m3u8`));
    expect(p.mediaSequence).toBe(3);
    expect(p.segments.map((s) => s.uri)).toEqual(['90p_3.m4s', '90p_4.m4s']);
    expect(p.map?.uri).toBe('90p_init_2.mp4');
    expect(p.discontinuitySequence).toBe(0);
    expect(p.segments[0]?.discontinuity).toBe(true);
    expect(watcher.problems).toEqual([]);
  });

  it('drops the truncated end of a crashed ffmpeg and keeps what it published', async () => {
    const { storage, make } = setup();
    const p = make();
    await feedRun(p, { '90p': H264.subarray(0, H264.length - 500), audio: AAC });
    await p.end();
    await p.close();
    const v = parseMediaPlaylist(storage.text(`${STREAM}/90p.m3u8`));
    expect(v.endList).toBe(true);
    expect(v.segments.length).toBe(2);
  });

  it('fails the writable of a rendition fed the wrong kind of track', async () => {
    const { make } = setup();
    const p = make();
    const run = p.startRun(Date.now());
    await expect(pipeline(chunks(AAC), run.writable('90p'))).rejects.toThrow(
      /is video but its input holds a audio track/,
    );
    await p.close();
  });

  it('refuses unknown renditions, a second writable, and runs after the end', async () => {
    const { make } = setup();
    const p = make();
    const run = p.startRun(Date.now());
    expect(() => run.writable('nope')).toThrow(RangeError);
    run.writable('90p').destroy();
    expect(() => run.writable('90p')).toThrow(/already/);
    await p.end();
    expect(() => p.startRun(Date.now())).toThrow(/after end/);
    await p.close();
    await p.close();
  });

  it('refuses to continue a playlist it cannot read (a VOD asset under the same id)', async () => {
    const { storage, make } = setup();
    await storage.put(
      `${STREAM}/90p.m3u8`,
      Buffer.from('#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n90p_1.m4s\n#EXT-X-ENDLIST\n'),
      'x',
    );
    const p = make();
    const run = p.startRun(Date.now());
    await expect(pipeline(chunks(H264), run.writable('90p'))).rejects.toThrow(/not a live playlist/);
    await expect(p.end()).rejects.toThrow(/not a live playlist/);
    await p.close();
    expect(storage.has(`${STREAM}/90p_init_1.mp4`)).toBe(false);
  });

  it('checks its arguments', () => {
    const storage = new MemoryStorage();
    const bus = new LocalLiveBus();
    expect(() => createLivePackagerFactory({ storage, bus, windowSegments: 3 })).toThrow(RangeError);
    const f = createLivePackagerFactory({ storage, bus });
    expect(() =>
      f({ streamId: '../x', renditions: specs, partSeconds: 0.3, segmentSeconds: 1, log }),
    ).toThrow(RangeError);
    expect(() => f({ streamId: 'x', renditions: specs, partSeconds: 2, segmentSeconds: 1, log })).toThrow(
      RangeError,
    );
  });
});

import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import { Mp4ParseError } from '../../src/packager/mp4/boxes.js';
import { parseMediaPlaylist } from '../../src/packager/playlist/media.js';
import { parseMultivariantPlaylist } from '../../src/packager/playlist/multivariant.js';
import type { Storage, StoredObject } from '../../src/packager/storage/storage.js';
import { VodPackager, type RenditionSpec } from '../../src/packager/vod/packager.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../test/fixtures/fmp4/${name}`, import.meta.url));

/** In-memory storage that records the order of writes and can hold a write back. */
class MemoryStorage implements Storage {
  readonly objects = new Map<string, StoredObject>();
  readonly order: string[] = [];
  gate: Promise<void> | null = null;

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    if (this.gate) await this.gate;
    this.objects.set(key, { body: Buffer.from(body), contentType, modified: new Date() });
    this.order.push(key);
  }
  async get(key: string): Promise<StoredObject | null> {
    return this.objects.get(key) ?? null;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
  async deleteAsset(assetId: string): Promise<void> {
    for (const k of [...this.objects.keys()]) if (k.startsWith(`${assetId}/`)) this.objects.delete(k);
  }
  async close(): Promise<void> {}
  text(key: string): string {
    return this.objects.get(key)?.body.toString() ?? '';
  }
}

const specs: RenditionSpec[] = [
  { name: '90p', kind: 'video', width: 160, height: 90, fps: 30, nominalBitrateKbps: 40 },
  { name: 'audio', kind: 'audio', nominalBitrateKbps: 24 },
];

/** Feeds a buffer in `chunk`-byte writes, the way a pipe delivers it. */
const feed = (data: Buffer, chunk = 4096): Readable =>
  Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
    })(),
  );

describe('VodPackager', () => {
  it('packages fMP4 inputs into segments, media playlists and, last, index.m3u8', async () => {
    const storage = new MemoryStorage();
    const p = new VodPackager({ storage, assetId: 'clip1', renditions: specs, segmentSeconds: 1 });
    await Promise.all([
      pipeline(feed(fixture('h264.mp4'), 1000), p.writable('90p')),
      pipeline(feed(fixture('aac.mp4'), 777), p.writable('audio')),
    ]);
    const result = await p.finish();
    expect(storage.order.at(-1)).toBe('clip1/index.m3u8');
    expect(
      storage.order
        .filter((k) => k.endsWith('.m3u8'))
        .slice(0, 2)
        .sort(),
    ).toEqual(['clip1/90p.m3u8', 'clip1/audio.m3u8']);

    const video = parseMediaPlaylist(storage.text('clip1/90p.m3u8'));
    expect(video.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['90p_1.m4s', 1],
      ['90p_2.m4s', 1],
    ]);
    expect(video).toMatchObject({
      targetDuration: 1,
      mediaSequence: 1,
      playlistType: 'VOD',
      endList: true,
      independentSegments: true,
      map: { uri: '90p_init.mp4' },
    });
    // Every stored byte is accounted for: init + segments = the input without its mfra.
    const stored = ['90p_init.mp4', '90p_1.m4s', '90p_2.m4s'].map(
      (n) => storage.objects.get(`clip1/${n}`)!.body,
    );
    const input = fixture('h264.mp4');
    expect(Buffer.concat(stored).equals(input.subarray(0, Buffer.concat(stored).length))).toBe(true);

    const mv = parseMultivariantPlaylist(storage.text('clip1/index.m3u8'));
    expect(mv.renditions).toEqual([
      {
        type: 'AUDIO',
        groupId: 'audio',
        name: 'Audio',
        language: 'und',
        default: true,
        autoselect: true,
        channels: '2',
        uri: 'audio.m3u8',
      },
    ]);
    expect(mv.variants).toHaveLength(1);
    expect(mv.variants[0]).toMatchObject({
      codecs: ['avc1.64000b', 'mp4a.40.2'],
      resolution: { width: 160, height: 90 },
      frameRate: 30,
      audio: 'audio',
      uri: '90p.m3u8',
    });

    expect(result.durationMs).toBeGreaterThanOrEqual(2000);
    expect(result.renditions.map((r) => [r.name, r.segments])).toEqual([
      ['90p', 2],
      ['audio', 2],
    ]);
    const [v, a] = result.renditions;
    expect(result.variants[0]!.bandwidth).toBe(v!.peakBandwidth + a!.peakBandwidth);
    expect(result.variants[0]!.averageBandwidth).toBe(v!.averageBandwidth + a!.averageBandwidth);
    expect(await p.finish()).toBe(result);
  });

  it('holds the write callback until the finished segment is stored (backpressure)', async () => {
    const storage = new MemoryStorage();
    const p = new VodPackager({ storage, assetId: 'bp', renditions: [specs[0]!], segmentSeconds: 1 });
    let release!: () => void;
    storage.gate = new Promise((r) => (release = r));
    const w = p.writable('90p');
    let called = false;
    // The whole file in one write: segment 1 closes inside it, and its put is held.
    w.write(fixture('h264.mp4'), () => (called = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(called).toBe(false);
    expect(storage.objects.size).toBe(0);
    release();
    storage.gate = null;
    await new Promise((r) => setTimeout(r, 50));
    expect(called).toBe(true);
    w.end();
    await p.finish();
  });

  it('abort(): finish rejects and index.m3u8 is never written', async () => {
    const storage = new MemoryStorage();
    const p = new VodPackager({ storage, assetId: 'ab', renditions: specs, segmentSeconds: 1 });
    const w = p.writable('90p');
    p.writable('audio');
    w.write(fixture('h264.mp4').subarray(0, 5000));
    p.abort();
    await expect(p.finish()).rejects.toMatchObject({ code: 'cancelled' });
    expect(() => p.writable('90p')).toThrow(/aborted/);
    expect(storage.objects.has('ab/index.m3u8')).toBe(false);
    expect(w.destroyed).toBe(true);
  });

  it('a malformed input fails the whole package with the parse error', async () => {
    const storage = new MemoryStorage();
    const p = new VodPackager({ storage, assetId: 'bad', renditions: specs, segmentSeconds: 1 });
    const audio = p.writable('audio');
    await expect(
      pipeline(feed(Buffer.from('this is not an mp4 file at all')), p.writable('90p')),
    ).rejects.toBeInstanceOf(Mp4ParseError);
    await expect(p.finish()).rejects.toBeInstanceOf(Mp4ParseError);
    // The other input is stopped too, so its producer sees an error rather than waiting.
    expect(audio.destroyed).toBe(true);
    expect([...storage.objects.keys()].some((k) => k.endsWith('.m3u8'))).toBe(false);
  });

  it('refuses audio fed into a video rendition', async () => {
    const storage = new MemoryStorage();
    const p = new VodPackager({ storage, assetId: 'mix', renditions: [specs[0]!], segmentSeconds: 1 });
    await expect(pipeline(feed(fixture('aac.mp4')), p.writable('90p'))).rejects.toThrow(
      /video but its input holds a audio track/,
    );
    await expect(p.finish()).rejects.toThrow(/audio track/);
  });

  it('refuses to finish while a rendition has no input', async () => {
    const p = new VodPackager({
      storage: new MemoryStorage(),
      assetId: 'half',
      renditions: specs,
      segmentSeconds: 1,
    });
    await pipeline(feed(fixture('h264.mp4')), p.writable('90p'));
    await expect(p.finish()).rejects.toThrow(/audio/);
  });

  it('refuses an input that ends before any media', async () => {
    const p = new VodPackager({
      storage: new MemoryStorage(),
      assetId: 'empty',
      renditions: [specs[0]!],
      segmentSeconds: 1,
    });
    await expect(pipeline(feed(Buffer.alloc(0)), p.writable('90p'))).rejects.toThrow(
      /without an init segment/,
    );
  });

  it.each<[string, Partial<ConstructorParameters<typeof VodPackager>[0]>, RegExp]>([
    ['a bad asset id', { assetId: '../x' }, /asset id/],
    ['no renditions', { renditions: [] }, /at least one/],
    ['a duplicate name', { renditions: [specs[0]!, specs[0]!] }, /twice/],
    ['a name that is not file-safe', { renditions: [{ ...specs[0]!, name: '../720p' }] }, /not allowed/],
    ['the name "index"', { renditions: [{ ...specs[0]!, name: 'index' }] }, /collide/],
    ['two audio renditions', { renditions: [specs[1]!, { ...specs[1]!, name: 'audio2' }] }, /one audio/],
    ['a zero segment length', { segmentSeconds: 0 }, /segmentSeconds/],
  ])('refuses %s', (_name, patch, message) => {
    expect(
      () =>
        new VodPackager({
          storage: new MemoryStorage(),
          assetId: 'ok',
          renditions: specs,
          segmentSeconds: 1,
          ...patch,
        }),
    ).toThrow(message);
  });

  it('hands out one writable per rendition, and none for unknown names', () => {
    const p = new VodPackager({
      storage: new MemoryStorage(),
      assetId: 'ok',
      renditions: specs,
      segmentSeconds: 1,
    });
    p.writable('90p');
    expect(() => p.writable('90p')).toThrow(/already/);
    expect(() => p.writable('1080p')).toThrow(/no rendition named/);
    p.abort();
  });
});

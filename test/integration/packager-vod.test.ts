import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exited } from '../../src/core/child.js';
import { parseMediaPlaylist, type MediaPlaylist } from '../../src/packager/playlist/media.js';
import { parseMultivariantPlaylist } from '../../src/packager/playlist/multivariant.js';
import { LocalStorage } from '../../src/packager/storage/local.js';
import { VodPackager, type RenditionSpec, type VodResult } from '../../src/packager/vod/packager.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = FFMPEG.replace(/ffmpeg$/, 'ffprobe');
const SECONDS = 10;
const FPS = 30;
const FRAG = [
  '-f',
  'mp4',
  '-movflags',
  '+empty_moov+default_base_moof+frag_keyframe',
  '-frag_duration',
  '333333',
];

const LADDER = [
  { name: '360p', w: 640, h: 360, kbps: 600 },
  { name: '240p', w: 426, h: 240, kbps: 300 },
  { name: '144p', w: 256, h: 144, kbps: 120 },
];

/** The worker's shape of ffmpeg run: one decode, split and scale, each rendition to its own pipe (fd 3…6). */
function ladderArgs(): string[] {
  const labels = LADDER.map((_, i) => `[v${i}]`);
  const scales = LADDER.slice(1).map((r, i) => `[s${i + 1}]scale=${r.w}:${r.h}[v${i + 1}]`);
  const filter = `[0:v]split=${LADDER.length}[v0]${LADDER.slice(1)
    .map((_, i) => `[s${i + 1}]`)
    .join('')};${scales.join(';')}`;
  const args = [
    '-v',
    'error',
    '-nostdin',
    '-t',
    String(SECONDS),
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=640x360:rate=${FPS}`,
  ];
  args.push(
    '-t',
    String(SECONDS),
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-filter_complex',
    filter,
  );
  LADDER.forEach((r, i) => {
    args.push(
      '-map',
      labels[i]!,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      `${r.kbps}k`,
      '-pix_fmt',
      'yuv420p',
    );
    // 2 s GOPs, closed, aligned across rungs: segments of 4 s can start on any of them.
    args.push(
      '-g',
      '60',
      '-keyint_min',
      '60',
      '-sc_threshold',
      '0',
      '-force_key_frames',
      'expr:gte(t,n_forced*2)',
    );
    args.push(...FRAG, `pipe:${3 + i}`);
  });
  args.push('-map', '1:a', '-c:a', 'aac', '-b:a', '96k', '-ac', '2', ...FRAG, `pipe:${3 + LADDER.length}`);
  return args;
}

function run(
  bin: string,
  args: string[],
  stdin?: Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

describe('VodPackager with real ffmpeg (3 video rungs + audio through pipes)', () => {
  let root: string;
  let dir: string;
  let result: VodResult;
  let child: ChildProcess | undefined;
  const renditions: RenditionSpec[] = [
    ...LADDER.map((r) => ({
      name: r.name,
      kind: 'video' as const,
      width: r.w,
      height: r.h,
      fps: FPS,
      nominalBitrateKbps: r.kbps,
    })),
    { name: 'audio', kind: 'audio', nominalBitrateKbps: 96 },
  ];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'whipcast-vod-'));
    const storage = new LocalStorage(root);
    const packager = new VodPackager({ storage, assetId: 'vod1', renditions, segmentSeconds: 4 });
    child = spawn(FFMPEG, ladderArgs(), {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = exited(child);
    await Promise.all(
      renditions.map((r, i) => pipeline(child!.stdio[3 + i] as Readable, packager.writable(r.name))),
    );
    await done;
    expect(stderr).toBe('');
    expect(child.exitCode).toBe(0);
    result = await packager.finish();
    dir = path.join(root, 'vod1');
    console.log(JSON.stringify(result, null, 1));
  }, 120_000);

  afterAll(async () => {
    if (child) await exited(child);
    await rm(root, { recursive: true, force: true });
  });

  const playlist = async (name: string): Promise<MediaPlaylist> =>
    parseMediaPlaylist(await readFile(path.join(dir, name), 'utf8'));

  it('writes the multivariant playlist with every variant, highest first, and the audio group', async () => {
    const mv = parseMultivariantPlaylist(await readFile(path.join(dir, 'index.m3u8'), 'utf8'));
    expect(mv.variants.map((v) => v.uri)).toEqual(['360p.m3u8', '240p.m3u8', '144p.m3u8']);
    expect(mv.variants.map((v) => v.resolution)).toEqual(LADDER.map((r) => ({ width: r.w, height: r.h })));
    for (const v of mv.variants) {
      expect(v.codecs?.[0]).toMatch(/^avc1\.64[0-9a-f]{4}$/);
      expect(v.codecs?.[1]).toBe('mp4a.40.2');
      expect(v.audio).toBe('audio');
      expect(v.frameRate).toBe(30);
      expect(v.averageBandwidth).toBeLessThanOrEqual(v.bandwidth);
    }
    const bw = mv.variants.map((v) => v.bandwidth);
    expect([...bw].sort((a, b) => b - a)).toEqual(bw);
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
  });

  it('cuts 4 s segments on the 2 s GOPs, aligned across rungs and audio', async () => {
    const durations: number[][] = [];
    for (const r of renditions) {
      const p = await playlist(`${r.name}.m3u8`);
      expect(p).toMatchObject({
        version: 7,
        mediaSequence: 1,
        playlistType: 'VOD',
        endList: true,
        map: { uri: `${r.name}_init.mp4` },
      });
      expect(p.independentSegments).toBe(true);
      expect(p.segments.map((s) => s.uri)).toEqual([1, 2, 3].map((n) => `${r.name}_${n}.m4s`));
      durations.push(p.segments.map((s) => s.duration));
    }
    for (const d of durations.slice(0, 3)) expect(d).toEqual([4, 4, 2]);
    // Audio cuts at the fragment edge nearest each 4 s boundary: 16 AAC frames make a
    // 0.341 s fragment, so each audio segment starts within 0.171 s of its video twin.
    const audioStarts = durations[3]!.map((_, i) => durations[3]!.slice(0, i).reduce((a, d) => a + d, 0));
    console.log('audio segment durations', durations[3], 'starts', audioStarts);
    audioStarts.forEach((t, i) =>
      expect(Math.abs(t - 4 * i)).toBeLessThanOrEqual((16 * 1024) / 48000 / 2 + 1e-6),
    );
  });

  it('starts every video segment with a keyframe', async () => {
    for (const r of LADDER) {
      const init = await readFile(path.join(dir, `${r.name}_init.mp4`));
      for (let msn = 1; msn <= 3; msn++) {
        const seg = await readFile(path.join(dir, `${r.name}_${msn}.m4s`));
        const out = await run(
          FFPROBE,
          [
            '-v',
            'error',
            '-select_streams',
            'v:0',
            '-show_entries',
            'packet=flags',
            '-of',
            'csv=p=0',
            '-i',
            'pipe:0',
          ],
          Buffer.concat([init, seg]),
        );
        expect(out.code).toBe(0);
        const flags = out.stdout.trim().split('\n');
        expect(flags[0]).toMatch(/^K/);
        expect(flags).toHaveLength(msn === 3 ? 60 : 120);
      }
    }
  });

  it('decodes as HLS with ffmpeg: every frame of every rendition, no errors', async () => {
    const out = await run(FFMPEG, [
      '-v',
      'error',
      '-i',
      path.join(dir, 'index.m3u8'),
      '-map',
      '0',
      '-f',
      'framecrc',
      '-',
    ]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const tb = new Map<number, number>();
    for (const m of out.stdout.matchAll(/^#tb (\d+): (\d+)\/(\d+)$/gm))
      tb.set(Number(m[1]), Number(m[2]) / Number(m[3]));
    const streams = new Map<number, { frames: number; first: number; end: number }>();
    for (const line of out.stdout.split('\n')) {
      if (line.startsWith('#') || !line.trim()) continue;
      const [idx, , pts, dur] = line.split(',').map((x) => Number(x.trim()));
      const s = streams.get(idx!) ?? { frames: 0, first: pts!, end: 0 };
      s.frames++;
      s.first = Math.min(s.first, pts!);
      s.end = Math.max(s.end, pts! + dur!);
      streams.set(idx!, s);
    }
    const summary = [...streams].map(([i, s]) => ({
      i,
      frames: s.frames,
      seconds: (s.end - s.first) * tb.get(i)!,
    }));
    console.log('decoded', JSON.stringify(summary));
    const video = summary.filter((s) => s.frames === SECONDS * FPS);
    expect(video).toHaveLength(3);
    for (const v of video) expect(v.seconds).toBeCloseTo(SECONDS, 2);
    const audio = summary.filter((s) => s.frames !== SECONDS * FPS);
    expect(audio.length).toBeGreaterThanOrEqual(1);
    for (const a of audio) expect(Math.abs(a.seconds - SECONDS)).toBeLessThan(0.05);
  });

  it('reports measured bit rates and durations', async () => {
    // The longest rendition is the audio: AAC ends on a whole 1024-sample frame.
    expect(Math.abs(result.durationMs - SECONDS * 1000)).toBeLessThan(50);
    const files = await readdir(dir);
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]);
    for (const r of result.renditions) {
      expect(r.segments).toBe(3);
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.peakBandwidth).toBeGreaterThanOrEqual(r.averageBandwidth);
    }
    const byName = new Map(result.renditions.map((r) => [r.name, r]));
    // Encoders land near their targets: within a factor of 2 of the requested bit rate.
    for (const r of LADDER) {
      const avg = byName.get(r.name)!.averageBandwidth / 1000;
      expect(avg).toBeGreaterThan(r.kbps / 2);
      expect(avg).toBeLessThan(r.kbps * 2);
    }
  });
});

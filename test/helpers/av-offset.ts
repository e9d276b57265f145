import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ffmpeg = () => process.env.FFMPEG_PATH ?? 'ffmpeg';

/**
 * A source whose video flashes white and whose audio beeps (1 kHz) at the same instants:
 * for 0.2 s every `everyS` seconds, from 0, both ending after `seconds`. Lavfi sources for
 * WhipTestClient's videoSource and audioSource (its `seconds` bounds the video output only).
 */
export function flashAndBeep(o: {
  width: number;
  height: number;
  fps: number;
  everyS: number;
  seconds: number;
}): {
  video: string;
  audio: string;
} {
  const on = `lt(mod(t,${o.everyS}),0.2)`;
  return {
    video:
      `color=c=black:s=${o.width}x${o.height}:r=${o.fps}:d=${o.seconds},` +
      `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${on}'`,
    audio: `aevalsrc=exprs='if(${on},0.8*sin(2*PI*1000*t),0)':sample_rate=48000:d=${o.seconds}`,
  };
}

/** An ended rendition as one fragmented MP4: its init segment, then every segment it lists. */
export async function downloadRendition(playlistUrl: string, file: string): Promise<void> {
  const text = await (await fetch(playlistUrl)).text();
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
  if (!map) throw new Error(`${playlistUrl} names no init segment`);
  const uris = [map, ...text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'))];
  const parts: Buffer[] = [];
  for (const uri of uris) {
    const res = await fetch(new URL(uri, playlistUrl));
    if (res.status !== 200) throw new Error(`${uri}: ${res.status}`);
    parts.push(Buffer.from(await res.arrayBuffer()));
  }
  await writeFile(file, Buffer.concat(parts));
}

/** One value per frame (video) or window (audio) that ffmpeg's metadata filter printed, with its time. */
async function printed(file: string, filter: string[], key: string): Promise<{ t: number; v: number }[]> {
  const { stdout } = await run(
    ffmpeg(),
    ['-hide_banner', '-nostats', '-loglevel', 'error', '-i', file, ...filter, '-f', 'null', '-'],
    { maxBuffer: 64 << 20 },
  );
  const out: { t: number; v: number }[] = [];
  const re = new RegExp(`pts_time:(-?[\\d.]+)\\s*\\n${key.replace(/\./g, '\\.')}=(\\S+)`, 'g');
  for (const m of stdout.matchAll(re)) {
    const v = m[2] === '-inf' ? -Infinity : Number(m[2]);
    out.push({ t: Number(m[1]), v });
  }
  return out;
}

/** Rising edges: the times where the value goes from below `low` to above `high`. */
function onsets(values: { t: number; v: number }[], low: number, high: number): number[] {
  const out: number[] = [];
  let armed = false;
  for (const { t, v } of values) {
    if (v < low) armed = true;
    else if (armed && v > high) {
      out.push(t);
      armed = false;
    }
  }
  return out;
}

/** When each flash starts (s): the first frame whose mean luma is bright after a dark one. */
export async function flashOnsets(file: string): Promise<number[]> {
  const key = 'lavfi.signalstats.YAVG';
  const frames = await printed(
    file,
    ['-an', '-vf', `signalstats,metadata=mode=print:key=${key}:file=-`],
    key,
  );
  return onsets(frames, 64, 128);
}

/** When each beep starts (s), to the millisecond: the RMS level of 1 ms windows rising out of silence. */
export async function beepOnsets(file: string): Promise<number[]> {
  const key = 'lavfi.astats.Overall.RMS_level';
  const windows = await printed(
    file,
    [
      '-vn',
      '-af',
      `aresample=48000,asetnsamples=n=48:p=0,astats=metadata=1:reset=1,ametadata=mode=print:key=${key}:file=-`,
    ],
    key,
  );
  return onsets(windows, -50, -20);
}

/** Audio minus video (ms) for each flash with a beep within half a second of it, from `fromS` on. */
export function avOffsetsMs(flashes: number[], beeps: number[], fromS: number): number[] {
  const out: number[] = [];
  for (const f of flashes) {
    if (f < fromS) continue;
    const near = beeps.filter((b) => Math.abs(b - f) < 0.5);
    if (near.length === 0) continue;
    const b = near.reduce((x, y) => (Math.abs(y - f) < Math.abs(x - f) ? y : x));
    out.push(Math.round((b - f) * 10_000) / 10);
  }
  return out;
}

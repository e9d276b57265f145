/** The pre-encoded stream publishers send with its streams copied: no encode while a benchmark measures. */
import { spawnSync } from 'node:child_process';

export interface SourceShape {
  width: number;
  height: number;
  kbps: number;
}

/**
 * H.264 High at `kbps` CBR (1 s GOP, zerolatency: no B-frames, as WebRTC sends it) + Opus
 * 64 kb/s at 30 fps, 20 s, in MPEG-TS (Annex B: it loops with the streams copied).
 */
export function encodeSource(file: string, s: SourceShape): void {
  const r = spawnSync(
    process.env.FFMPEG_PATH ?? 'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=${s.width}x${s.height}:rate=30`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-t', '20', '-c:v', 'libx264', '-profile:v', 'high', '-preset', 'veryfast', '-tune', 'zerolatency'],
      ...['-b:v', `${s.kbps}k`, '-minrate', `${s.kbps}k`, '-maxrate', `${s.kbps}k`],
      ...['-bufsize', `${Math.round(s.kbps / 2)}k`, '-x264-params', 'nal-hrd=cbr', '-pix_fmt', 'yuv420p'],
      ...['-g', '30', '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2', file],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (r.status !== 0) throw new Error(`encoding the source failed: ${r.stderr.toString()}`);
}

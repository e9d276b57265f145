/**
 * A picture that carries its own frame number: 20 vertical bars, bar i bright when bit i
 * of the frame number is set (drawn by ffmpeg's geq at a small size, then scaled up), and
 * the reader that gets the number back from the last frame of an fMP4 part.
 */
import { spawn } from 'node:child_process';

export const BARS = 20;

/** lavfi source (for `-f lavfi -i`) of the numbered picture. */
export function frameNumberSource(o: { width: number; height: number; fps: number }): string {
  const lum = `255*mod(floor(N/pow(2\\,floor(X*${BARS}/W)))\\,2)`;
  return (
    `color=c=black:s=${BARS * 16}x90:r=${o.fps},` +
    `geq=lum='${lum}':cb=128:cr=128,` +
    `scale=${o.width}:${o.height}:flags=neighbor,format=yuv420p`
  );
}

/** Bits from one row of BARS gray samples (each the mean of its bar). */
export function decodeBars(row: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < BARS; i++) if ((row[i] ?? 0) >= 128) n += 2 ** i;
  return n;
}

/**
 * The frame number shown by the last frame of `media` (an init segment followed by one
 * or more fragments), or null when it decodes to nothing.
 */
export function lastFrameNumber(
  media: Buffer,
  ffmpegPath = process.env.FFMPEG_PATH ?? 'ffmpeg',
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const ff = spawn(
      ffmpegPath,
      [
        ...['-hide_banner', '-loglevel', 'error', '-f', 'mp4', '-i', 'pipe:0'],
        // Average each bar down to one sample: robust against compression noise.
        ...['-vf', `scale=${BARS}:1:flags=area`, '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'],
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const chunks: Buffer[] = [];
    ff.stdout.on('data', (c: Buffer) => chunks.push(c));
    ff.stdin.on('error', () => undefined);
    ff.on('error', reject);
    ff.on('close', () => {
      const all = Buffer.concat(chunks);
      if (all.length < BARS) return resolve(null);
      resolve(decodeBars(all.subarray(all.length - BARS)));
    });
    ff.stdin.end(media);
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface LiveLadderOptions {
  /** Seconds of media; with `realtime` it also takes that long. */
  seconds: number;
  /** Video rungs: name, size. 30 fps, a keyframe every `gopSeconds`. */
  rungs: { name: string; width: number; height: number; kbps: number }[];
  /** Also an AAC stereo 48 kHz rendition named `audio`. */
  audio: boolean;
  gopSeconds: number;
  /** ffmpeg -frag_duration, seconds. */
  partSeconds: number;
  /** -re: produce media at its own pace, like a live encoder. @defaultValue true */
  realtime?: boolean;
  ffmpegPath?: string;
}

/**
 * A real ffmpeg producing a live ladder like the worker's: one decode of a lavfi test
 * source, split and scaled per rung, keyframes aligned across rungs, each rendition as
 * fragmented MP4 on its own pipe (fd 3, 4, ...). Owns the process: close() stops it
 * (SIGTERM, then SIGKILL) and waits for it to exit; idempotent.
 */
export class LiveLadder {
  readonly outputs = new Map<string, Readable>();
  readonly exited: Promise<number | null>;
  stderr = '';
  readonly #child: ChildProcess;
  #closing: Promise<void> | null = null;

  constructor(o: LiveLadderOptions) {
    const n = o.rungs.length;
    const filters = [
      `[0:v]split=${n}${o.rungs.map((_, i) => `[s${i}]`).join('')}`,
      ...o.rungs.map((r, i) => `[s${i}]fps=30,scale=${r.width}:${r.height},setsar=1[v${i}]`),
    ];
    if (o.audio) filters.push('[1:a]aresample=async=1:first_pts=0[a]');
    const mux = [
      ...['-f', 'mp4', '-movflags', '+cmaf+frag_keyframe+empty_moov+default_base_moof'],
      ...['-frag_duration', String(Math.round(o.partSeconds * 1e6))],
    ];
    const gop = String(Math.round(o.gopSeconds * 30));
    const args = [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
      ...(o.realtime === false ? [] : ['-re']),
      ...['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${o.seconds}`],
      ...(o.audio
        ? ['-re', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`]
        : []),
      ...['-filter_complex', filters.join(';')],
    ];
    o.rungs.forEach((r, i) => {
      args.push(
        ...['-map', `[v${i}]`, '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency'],
        ...['-pix_fmt', 'yuv420p', '-b:v', `${r.kbps}k`, '-g', gop, '-keyint_min', gop],
        ...['-force_key_frames', `expr:gte(t,n_forced*${o.gopSeconds})`],
        ...mux,
        `pipe:${3 + i}`,
      );
    });
    if (o.audio) args.push('-map', '[a]', '-c:a', 'aac', '-b:a', '64k', '-ac', '2', ...mux, `pipe:${3 + n}`);
    const outputs = n + (o.audio ? 1 : 0);
    this.#child = spawn(o.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', args, {
      stdio: ['ignore', 'ignore', 'pipe', ...Array.from({ length: outputs }, () => 'pipe' as const)],
    });
    this.#child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    o.rungs.forEach((r, i) => this.outputs.set(r.name, this.#child.stdio[3 + i] as Readable));
    if (o.audio) this.outputs.set('audio', this.#child.stdio[3 + n] as Readable);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code) => resolve(code));
      this.#child.once('error', () => resolve(null));
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#child.exitCode === null && this.#child.signalCode === null) {
        this.#child.kill('SIGTERM');
        const killer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
        await this.exited;
        clearTimeout(killer);
      }
      for (const s of this.outputs.values()) s.destroy();
    })();
    return this.#closing;
  }
}

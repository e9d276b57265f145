import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { exited, terminate } from '../../src/core/child.js';
import { packageRoot } from '../../src/core/paths.js';

/**
 * A whipcast process (`node dist/src/main.js`) started the way users start it, owned by
 * the test: close() ends it (SIGTERM, then SIGKILL) and is idempotent; kill9() is the crash.
 */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  url = '';
  #closing: Promise<void> | null = null;

  private constructor(child: ChildProcess) {
    this.child = child;
  }

  static async start(opts: {
    worker?: boolean;
    env: Record<string, string>;
    waitFor?: RegExp;
    /** Flags for node itself (benchmarks: --cpu-prof, which NODE_OPTIONS refuses). */
    nodeArgs?: string[];
  }): Promise<ServiceProcess> {
    const main = path.join(packageRoot(), 'dist', 'src', 'main.js');
    const child = spawn(
      process.execPath,
      [...(opts.nodeArgs ?? []), main, ...(opts.worker ? ['--worker'] : [])],
      {
        env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const sp = new ServiceProcess(child);
    const ready = opts.waitFor ?? (opts.worker ? /"msg":"worker started"/ : /"msg":"listening"/);
    await new Promise<void>((resolve, reject) => {
      // A process that never became ready is still ours: end it before giving up on it.
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        void sp.close().finally(() => reject(new Error(`service did not start:\n${sp.output.join('')}`)));
      }, 20_000);
      const onData = (buf: Buffer) => {
        const text = buf.toString();
        sp.output.push(text);
        const m =
          /"url":"(http:\/\/[^"]+)","msg":"listening"/.exec(text) ??
          /listening on (http:\/\/[^\s/]+)/.exec(text);
        if (m?.[1]) sp.url = m[1];
        if (ready.test(sp.output.join(''))) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!gaveUp) reject(new Error(`service exited with ${code}:\n${sp.output.join('')}`));
      });
    });
    return sp;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    return exited(this.child);
  }

  close(): Promise<void> {
    this.#closing ??= terminate(this.child, 10_000);
    return this.#closing;
  }
}

/** Pids of live processes whose command line contains `needle` (to find stray ffmpegs). */
export function pidsMatching(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Zombies have exited already; their parent just has not reaped them.
      if (cmd.includes(needle) && !/\) Z /.test(stat)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

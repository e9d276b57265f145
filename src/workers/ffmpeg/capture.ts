import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { spawnOwned } from '../../core/child.js';
import { searchPath } from '../../core/config.js';

/**
 * The file `bin` names (a path, or a name looked up on PATH) if it is an executable
 * file, else null. spawnOwned runs the binary through setpriv, where a missing binary
 * is not a spawn error but setpriv's exit 127, so this is how "cannot start" is told apart.
 */
export function findExecutable(bin: string): string | null {
  const candidates = bin.includes('/') ? [bin] : searchPath().map((dir) => path.join(dir, bin));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here: try the next directory
    }
  }
  return null;
}

export interface Captured {
  /** null when the process could not be started or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** `start`: it could not be started; `timeout`: killed after the timeout. */
  failure: 'start' | 'timeout' | null;
  /** Why, when failure is set. */
  error: string | null;
}

/**
 * Runs a short command (a probe) to completion and returns its output, killing it
 * after `timeoutMs`. Output beyond `maxBytes` per stream is dropped.
 */
export function capture(
  bin: string,
  args: readonly string[],
  opts: { timeoutMs: number; maxBytes?: number },
): Promise<Captured> {
  const max = opts.maxBytes ?? 1024 * 1024;
  if (findExecutable(bin) === null) {
    return Promise.resolve({
      code: null,
      stdout: '',
      stderr: '',
      failure: 'start',
      error: `${bin}: not found or not executable`,
    });
  }
  return new Promise((resolve) => {
    const child = spawnOwned(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    let error: string | null = null;
    let failure: Captured['failure'] = null;
    const collect = (key: 'stdout' | 'stderr') => (chunk: Buffer) => {
      if (out[key].length < max) out[key] += chunk.toString('utf8').slice(0, max - out[key].length);
    };
    child.stdout?.on('data', collect('stdout'));
    child.stderr?.on('data', collect('stderr'));
    const timer = setTimeout(() => {
      failure = 'timeout';
      error = `timed out after ${opts.timeoutMs} ms`;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    let settled = false;
    const settle = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code: failure === null ? code : null, ...out, failure, error });
    };
    child.once('error', (e) => {
      failure = 'start';
      error = e.message;
      settle(null);
    });
    // 'close', not 'exit': both pipes are drained by then.
    child.once('close', (code) => settle(code));
  });
}

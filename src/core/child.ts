import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Spawns a child from an argv array that dies with this process even on SIGKILL:
 * on Linux, util-linux's `setpriv --pdeathsig` sets PR_SET_PDEATHSIG before exec.
 * Where setpriv is missing the child is spawned plainly (owners still close() it).
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function spawnOwned(bin: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  if (SETPRIV && process.platform === 'linux') {
    return spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', bin, ...args], options);
  }
  return spawn(bin, [...args], options);
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
export async function terminate(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

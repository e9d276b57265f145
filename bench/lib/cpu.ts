/** CPU accounting from /proc, for benchmarks: per process, per process tree, per machine. */
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds one process has used itself (utime + stime); 0 once it is gone. */
export function ownCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / TICK : 0;
}

/** Pids of a process's children that are alive now. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === pid && f[0] !== 'Z') out.push(Number(entry));
  }
  return out;
}

/**
 * Sums CPU seconds over a process tree while it runs. Children come and go (ffmpeg is
 * restarted per run), so each process seen is remembered with its last reading.
 */
export class TreeCpu {
  readonly #root: number;
  readonly #last = new Map<number, number>();

  constructor(root: number) {
    this.#root = root;
    this.sample();
  }

  /** Reads every process of the tree now; returns the total so far. */
  sample(): number {
    const walk = (pid: number) => {
      const s = ownCpuSeconds(pid);
      if (s > 0) this.#last.set(pid, s);
      for (const c of childrenOf(pid)) walk(c);
    };
    walk(this.#root);
    return [...this.#last.values()].reduce((a, b) => a + b, 0);
  }
}

/** Busy and total jiffies of the whole machine (`cpu`, every process) or one core (`cpu0`), from /proc/stat. */
export function machineCpu(line = 'cpu'): { busy: number; total: number } {
  const row = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${line} `));
  const f = (row ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Percent of the machine busy between two machineCpu() readings. */
export function busyPercent(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0;
}

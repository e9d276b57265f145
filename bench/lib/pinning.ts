/** Pinning processes to cores, and what the kernel dropped, for the benchmarks that split a machine. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Pins every thread of `pid` to `core` (taskset -a); false when taskset is missing or refuses. */
export function pin(pid: number, core: string): boolean {
  return spawnSync('taskset', ['-a', '-cp', core, String(pid)], { stdio: 'ignore' }).status === 0;
}

/** UDP datagrams the kernel dropped for a full receive buffer (all sockets), from /proc/net/snmp. */
export function udpRcvbufErrors(): number {
  const rows = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp: '));
  const names = rows[0]?.split(/\s+/) ?? [];
  const vals = rows[1]?.split(/\s+/) ?? [];
  return Number(vals[names.indexOf('RcvbufErrors')] ?? NaN);
}

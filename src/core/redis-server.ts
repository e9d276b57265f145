import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { freePort } from './free-port.js';
import { spawnOwned, terminate } from './child.js';

export class RedisServerMissing extends Error {
  constructor() {
    super(
      'REDIS_URL is unset and no redis-server is on PATH: install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL',
    );
    this.name = 'RedisServerMissing';
  }
}

function findRedisServer(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * A private redis-server on a free loopback port, persistence off, that dies with
 * this process (pdeathsig) and on close(). Used when REDIS_URL is unset, and by tests.
 */
export class PrivateRedis {
  #child: ChildProcess | null = null;
  #closing: Promise<void> | null = null;
  url = '';

  static async start(): Promise<PrivateRedis> {
    const bin = findRedisServer();
    if (!bin) throw new RedisServerMissing();
    const r = new PrivateRedis();
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const child = spawnOwned(
        bin,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          '/tmp',
          '--daemonize',
          'no',
          '--protected-mode',
          'yes',
          // BullMQ needs every key kept: eviction would lose jobs.
          '--maxmemory-policy',
          'noeviction',
          '--loglevel',
          'warning',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      r.#child = child;
      const ok = await r.#waitReady(port, child);
      if (ok) {
        r.url = `redis://127.0.0.1:${port}`;
        return r;
      }
      await terminate(child, 500);
    }
    throw new Error('could not start a private redis-server on a free loopback port');
  }

  async #waitReady(port: number, child: ChildProcess): Promise<boolean> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) return false;
      if (await canConnect(port)) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  close(): Promise<void> {
    this.#closing ??= this.#child ? terminate(this.#child, 2000) : Promise.resolve();
    return this.#closing;
  }
}

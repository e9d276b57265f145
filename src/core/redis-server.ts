import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { spawnOwned, terminate } from './child.js';
import type { Logger } from './log.js';

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

/** Consecutive failed restarts after which the private Redis counts as lost for good. */
const MAX_FAILED_RESTARTS = 10;

export interface PrivateRedisOptions {
  /** Says when the server died and came back. */
  log?: Logger;
}

/**
 * A private redis-server on a free loopback port that dies with this process (pdeathsig)
 * and on close(). Used when REDIS_URL is unset, and by tests.
 *
 * It is restarted on the same port when it dies, so every connection finds it again by
 * itself; its append-only file (in a private temporary folder, fsynced each second) gives
 * the queues back as they were: a live job's lock and data survive, and no stream is
 * transcoded twice.
 */
export class PrivateRedis {
  readonly #o: PrivateRedisOptions;
  #bin = '';
  #dir = '';
  #port = 0;
  #child: ChildProcess | null = null;
  #closing: Promise<void> | null = null;
  #restarting: Promise<void> | null = null;
  #restarts = 0;
  #lost: string | null = null;
  readonly #listeners = new Set<() => void>();
  url = '';

  private constructor(opts: PrivateRedisOptions) {
    this.#o = opts;
  }

  static async start(opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const bin = findRedisServer();
    if (!bin) throw new RedisServerMissing();
    const r = new PrivateRedis(opts);
    r.#bin = bin;
    r.#dir = await mkdtemp(path.join(os.tmpdir(), 'whipcast-redis-'));
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        if (await r.#spawn(await freePort())) {
          r.url = `redis://127.0.0.1:${r.#port}`;
          return r;
        }
      }
    } catch (e) {
      await r.close();
      throw e;
    }
    await r.close();
    throw new Error('could not start a private redis-server on a free loopback port');
  }

  /** Times it was restarted after dying. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Null while it runs or is being restarted; else why it could not be brought back. */
  get lost(): string | null {
    return this.#lost;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Hears each restart (a metric counts them). */
  onRestart(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#restarting?.catch(() => undefined);
      if (this.#child) await terminate(this.#child, 2000);
      if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }

  async #spawn(port: number): Promise<boolean> {
    const child = spawnOwned(
      this.#bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--dir',
        this.#dir,
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
    // Its warnings are read only to be dropped: a full pipe would stall it.
    child.stderr?.resume();
    this.#child = child;
    if (!(await waitReady(port, child))) {
      await terminate(child, 500);
      return false;
    }
    this.#port = port;
    child.once('exit', (code, signal) => this.#died(child, code, signal));
    return true;
  }

  #died(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#closing || child !== this.#child) return;
    this.#o.log?.error(
      { code, signal, port: this.#port },
      'the private redis-server died: restarting it on the same port',
    );
    this.#restarting = this.#restart().finally(() => {
      this.#restarting = null;
    });
  }

  async #restart(): Promise<void> {
    for (let failed = 0; failed < MAX_FAILED_RESTARTS; failed++) {
      if (this.#closing) return;
      if (await this.#spawn(this.#port)) {
        this.#restarts++;
        this.#o.log?.info(
          { pid: this.#child?.pid, restarts: this.#restarts },
          'the private redis-server runs again',
        );
        for (const fn of this.#listeners) fn();
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failed, 2000)));
    }
    this.#lost = `the private redis-server could not be restarted on port ${this.#port} (${MAX_FAILED_RESTARTS} tries)`;
    this.#o.log?.fatal(this.#lost);
  }
}

async function waitReady(port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    if (await canConnect(port)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

#!/usr/bin/env node
// Installs what a fresh Debian/Ubuntu machine lacks for whipcast: npm packages, and
// ffmpeg + redis-server (+ chromium with --test) through apt-get when running as root.
// Idempotent and quick when everything is already there.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const forTests = args.has('--test') || process.env.npm_lifecycle_event === 'pretest';
const say = (msg) => {
  if (!quiet) console.error(`setup: ${msg}`);
};

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`setup: whipcast needs Node.js 20 or later (this is ${process.version})`);
  process.exit(1);
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// npm packages: install when node_modules is missing or older than the lock file.
const lock = path.join(root, 'package-lock.json');
const marker = path.join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000)) {
  say('installing npm packages (npm ci)');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const needed = [];
if (!process.env.FFMPEG_PATH && !has('ffmpeg')) needed.push('ffmpeg');
if (!process.env.REDIS_URL && !has('redis-server')) needed.push('redis-server');
if (forTests && !existsSync('/usr/bin/chromium')) needed.push('chromium');
if (forTests && !has('redis-server') && !needed.includes('redis-server')) needed.push('redis-server');

if (needed.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && has('apt-get')) {
    say(`installing ${needed.join(', ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...needed], {
        stdio: 'inherit',
        env,
      });
    } catch {
      console.error(`setup: apt-get could not install ${needed.join(', ')}; install them and run again`);
      process.exit(1);
    }
  } else {
    console.error(
      `setup: missing ${needed.join(', ')}: install them (Debian/Ubuntu: sudo apt-get install ${needed.join(' ')})`,
    );
    process.exit(1);
  }
}
say('ready');

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { packageRoot } from '../../src/core/paths.js';

/**
 * The compose files are valid and hold the services the README promises. `config` needs
 * no Docker daemon and pulls nothing; building or starting needs both, so no test here
 * does. Uses the `docker compose` plugin, else the standalone `docker-compose`; skipped
 * (saying so) where neither is installed.
 */
const root = packageRoot();

function findCompose(): string[] | null {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const [bin, ...args] = cmd as [string, ...string[]];
    const r = spawnSync(bin, [...args, 'version'], { stdio: 'ignore', timeout: 20_000 });
    if (r.status === 0) return cmd;
  }
  return null;
}

const compose = findCompose();
if (!compose) {
  console.warn(
    'docker-compose.test: skipped, neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)',
  );
}
const describeCompose = compose ? describe : describe.skip;

function run(files: string[], args: string[], env: Record<string, string> = {}) {
  const [bin, ...pre] = compose as [string, ...string[]];
  const r = spawnSync(bin, [...pre, ...files.flatMap((f) => ['-f', f]), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    // No stray COMPOSE_FILE or token from the caller's shell changes the result.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const SERVICES = ['app', 'minio', 'minio-init', 'redis', 'worker'];

describeCompose('docker compose files', () => {
  it('docker-compose.yml: redis, minio (+ bucket init), app, workers', () => {
    const services = run(['docker-compose.yml'], ['config', '--services']);
    expect(services.err).not.toMatch(/error|invalid/i);
    expect(services.code).toBe(0);
    expect(services.out.trim().split('\n').sort()).toEqual(SERVICES);

    const cfg = run(['docker-compose.yml'], ['config']);
    expect(cfg.code).toBe(0);
    expect(cfg.out).toMatch(/noeviction/);
    expect(cfg.out).toMatch(/--appendonly/);
    expect(cfg.out).toMatch(/replicas: 2/);
    expect(cfg.out).toMatch(/ROLES: api,ingest/);
    expect(cfg.out).toMatch(/ROLES: worker/);
    expect(cfg.out).toMatch(/STORAGE: s3/);
    expect(cfg.out).toMatch(/REDIS_URL: redis:\/\/redis:6379/);
    expect(cfg.out).toMatch(/HOST: 0\.0\.0\.0/);
    expect(cfg.out).toMatch(/mc mb --ignore-existing/);
  });

  it('takes the tokens from the environment', () => {
    const cfg = run(['docker-compose.yml'], ['config'], {
      PUBLISH_TOKEN: 'publish-token-from-env-0123',
      API_TOKEN: 'api-token-from-env-0123456',
    });
    expect(cfg.code).toBe(0);
    expect(cfg.out).toMatch(/PUBLISH_TOKEN: publish-token-from-env-0123/);
    expect(cfg.out).toMatch(/API_TOKEN: api-token-from-env-0123456/);
  });

  it('docker-compose.nvidia.yml: NVIDIA devices and capabilities on the workers', () => {
    const files = ['docker-compose.yml', 'docker-compose.nvidia.yml'];
    const services = run(files, ['config', '--services']);
    expect(services.code).toBe(0);
    expect(services.out.trim().split('\n').sort()).toEqual(SERVICES);
    const cfg = run(files, ['config']);
    expect(cfg.code).toBe(0);
    expect(cfg.out).toMatch(/driver: nvidia/);
    expect(cfg.out).toMatch(/NVIDIA_DRIVER_CAPABILITIES: compute,video,utility/);
    expect(cfg.out).toMatch(/HWACCEL: nvenc/);
  });

  it('docker-compose.dri.yml: /dev/dri, the video and render groups, HWACCEL', () => {
    const files = ['docker-compose.yml', 'docker-compose.dri.yml'];
    const cfg = run(files, ['config'], { RENDER_GID: '993', HWACCEL: 'qsv' });
    expect(cfg.err).not.toMatch(/invalid/i);
    expect(cfg.code).toBe(0);
    expect(cfg.out).toMatch(/\/dev\/dri:\/dev\/dri/);
    expect(cfg.out).toMatch(/- video/);
    expect(cfg.out).toMatch(/- '?993'?/);
    expect(cfg.out).toMatch(/HWACCEL: qsv/);
    expect(run(files, ['config', '--services'], { RENDER_GID: '993' }).code).toBe(0);

    // Without the render group's id it stops with a line saying what to set.
    const missing = run(files, ['config']);
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/RENDER_GID/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

  it("is Debian with Debian's ffmpeg, npm ci, a build, and npm start", () => {
    expect(text).toMatch(/^FROM node:20-bookworm-slim$/m);
    expect(text).toMatch(/apt-get install[^\n]*\n?[^\n]*\bffmpeg\b/);
    expect(text).toMatch(/^RUN npm ci\b/m);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/^CMD \["npm", "start"\]$/m);
  });

  it('leaves the host build outputs out of the context', () => {
    const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', 'data']) expect(ignore).toContain(p);
  });
});

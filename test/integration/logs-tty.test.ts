import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger, readableLogs } from '../../src/core/log.js';
import { packageRoot } from '../../src/core/paths.js';

const run = promisify(execFile);
/** util-linux's script(1) runs a command on a pseudo-terminal: stdout is a TTY there. */
const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));

/** Logs read as lines on a terminal and as JSON everywhere else. */
describe('log format', () => {
  let dir: string;
  let program: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-log-'));
    program = path.join(dir, 'log.mjs');
    const log = path.join(packageRoot(), 'dist', 'src', 'core', 'log.js');
    writeFileSync(
      program,
      `const { createLogger } = await import(${JSON.stringify(log)});\n` +
        `createLogger('info').child({ streamId: 'cam' }).info({ token: 'Secret-token-1234', url: 'http://127.0.0.1:8080' }, 'listening');\n`,
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one JSON object per line when stdout is a pipe', async () => {
    const { stdout } = await run(process.execPath, [program]);
    const record = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 30, msg: 'listening', streamId: 'cam', token: '[redacted]' });
  });

  (SCRIPT ? it : it.skip)(
    'is a line a person reads when stdout is a terminal, tokens still hidden',
    async () => {
      const { stdout } = await run(SCRIPT!, ['-qec', `${process.execPath} ${program}`, '/dev/null'], {
        env: { ...process.env, TERM: 'dumb' },
      });
      // eslint-disable-next-line no-control-regex
      const line = stdout.replace(/\x1b\[[0-9;]*m/g, '').trim();
      expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening \{/);
      expect(line).toContain('"streamId":"cam"');
      expect(line).toContain('"url":"http://127.0.0.1:8080"');
      expect(line).toContain('[redacted]');
      expect(line).not.toContain('Secret-token');
      expect(line).not.toContain('{"level"');
    },
  );

  it('readableLogs writes to the stream it is given, without colours when asked', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    createLogger('info', readableLogs({ colorize: false, destination: out })).warn({ jobId: 'j1' }, 'slow');
    await new Promise((r) => setImmediate(r));
    expect(chunks.join('')).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: slow \{"jobId":"j1"\}\n$/);
  });
});

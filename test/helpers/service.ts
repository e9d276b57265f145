import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/log.js';
import { Service } from '../../src/service.js';

let counter = 0;

/** An in-process whipcast with every role, its own temp DATA_DIR and queue prefix, on a free port. */
export async function startTestService(env: Record<string, string> = {}): Promise<{
  service: Service;
  dir: string;
  close: () => Promise<void>;
}> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-test-'));
  counter += 1;
  const config = loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    PORT: '0',
    DATA_DIR: path.join(dir, 'data'),
    MEDIA_DIR: path.join(dir, 'media'),
    QUEUE_PREFIX: `t${process.pid}x${counter}${Date.now().toString(36)}`,
    HWACCEL: 'none',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const service = await Service.start(config, createLogger(config.logLevel));
  return {
    service,
    dir,
    close: async () => {
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The origin under test for bench/origin: the real Service (src/service.ts), configured
 * from the environment as `npm start` is (ROLES=api: HTTP, the live origin on the Redis
 * bus, storage), in a process of its own, started with child_process.fork. Over IPC it
 * says `{ ready, url }` once listening and answers `{ cmd: 'held' }` with how many
 * requests its live origin holds (the only figure the bench cannot see from outside).
 * It closes the Service and exits when the parent goes away.
 */
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/log.js';
import { Service } from '../../src/service.js';

export type ServerMessage = { ready: true; url: string } | { held: number; id: number };

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const service = await Service.start(config, createLogger(config.logLevel));
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    void service.close().finally(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('message', (m: { cmd: 'held'; id: number }) => {
    if (m.cmd === 'held') process.send?.({ held: service.liveOrigin?.held ?? -1, id: m.id });
  });
  process.send?.({ ready: true, url: service.url } satisfies ServerMessage);
}

main().catch((e: unknown) => {
  console.error(`origin-server: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

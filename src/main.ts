import { ConfigError, loadConfig } from './core/config.js';
import { errorMessage } from './core/errors.js';
import { createLogger } from './core/log.js';
import { RedisServerMissing } from './core/redis-server.js';
import { queueDemo } from './demo.js';
import { Service } from './service.js';

/** `npm start` (every role), `npm run worker` (--worker), `npm run demo` (--demo: also queue a sample). */
async function main(argv: string[]): Promise<void> {
  let config;
  try {
    config = loadConfig(undefined, { workerOnly: argv.includes('--worker') });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`whipcast: configuration error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);

  let service: Service;
  try {
    service = await Service.start(config, log);
  } catch (e) {
    const msg = e instanceof RedisServerMissing ? e.message : errorMessage(e);
    log.fatal({ err: msg }, 'start failed');
    console.error(`whipcast: ${msg}`);
    process.exit(1);
  }

  let stopping = false;
  const stop = (why: string, code: number) => {
    if (stopping) {
      // A second Ctrl-C means now; pdeathsig still takes our children with us.
      process.exit(code);
    }
    stopping = true;
    log.info({ why }, 'shutting down');
    const force = setTimeout(() => process.exit(code), 30_000);
    force.unref();
    void (code === 0 ? service.shutdown() : service.close()).finally(() => process.exit(code));
  };
  process.on('SIGINT', () => stop('SIGINT', 0));
  process.on('SIGTERM', () => stop('SIGTERM', 0));
  process.on('uncaughtException', (err) => {
    log.fatal({ err: errorMessage(err), stack: err.stack }, 'uncaught exception');
    stop('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => {
    log.error({ err: errorMessage(err) }, 'unhandled rejection');
  });

  if (argv.includes('--demo') && service.jobs) {
    try {
      const url = await queueDemo(service);
      console.error(`whipcast: open ${service.url}/ — the sample plays once transcoded (${url})`);
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'could not queue the sample');
    }
  } else if (service.url) {
    console.error(`whipcast: listening on ${service.url}/`);
  }
}

void main(process.argv.slice(2));

import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * One root logger per process; components take `log.child({ streamId })`,
 * `log.child({ jobId })` so every line carries its id. Tokens never reach a line.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'req.headers.authorization',
          'publishToken',
          'apiToken',
          '*.publishToken',
          '*.apiToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

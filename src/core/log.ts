import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/**
 * One root logger per process; components take `log.child({ streamId })`,
 * `log.child({ jobId })` so every line carries its id. Tokens never reach a line.
 *
 * Without a destination: JSON lines on stdout for machines (a pipe, a file, a log
 * collector), and lines a person reads when stdout is a terminal (see readableLogs).
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
    destination ?? (process.stdout.isTTY ? readableLogs({ colorize: true }) : undefined),
  );
}

/**
 * pino-pretty in this thread (no worker thread to own): `[12:03:04.512] INFO: listening
 * {"url":"http://…"}`, one record per line, its fields after the message, colours on a
 * terminal. Redaction happens before, in pino, so a pretty line hides what JSON hides.
 * Writes synchronously to `destination` (default stdout), as pino does to stdout.
 */
export function readableLogs(o: {
  colorize: boolean;
  destination?: NodeJS.WritableStream;
}): pino.DestinationStream {
  return pretty({
    colorize: o.colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
    ...(o.destination ? { destination: o.destination } : {}),
  });
}

import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { errorHandler, notFoundHandler } from '../../src/api/errors.js';
import { relayRouter } from '../../src/api/routes/relay.js';
import { createLogger } from '../../src/core/log.js';
import { MediaRelay, type MediaRelayOptions } from '../../src/live/relay/relay.js';
import type { FakeFrameSources } from './fake-frame-source.js';

/** The relay behind its router in a small express app on 127.0.0.1, as the API mounts it. */
export async function startRelayApp(
  sources: FakeFrameSources,
  o: Partial<Omit<MediaRelayOptions, 'streams'>> = {},
): Promise<{ relay: MediaRelay; base: string; url: (stream: string) => string; close: () => Promise<void> }> {
  const log = o.log ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const relay = new MediaRelay({ ...o, streams: sources.streams, log });
  const app = express();
  app.use('/internal/relay', relayRouter({ relay }));
  app.use(notFoundHandler);
  app.use(errorHandler(log));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closing: Promise<void> | null = null;
  return {
    relay,
    base,
    url: (stream) => `${base}/internal/relay/${stream}`,
    close: () =>
      (closing ??= (async () => {
        await relay.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}

export interface RecordedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  chunks: { at: number; data: Buffer }[];
  /** Resolves when the body ended or broke. */
  done: Promise<'end' | 'error'>;
  res: IncomingMessage;
  close: () => void;
}

/** GET with a bearer token; records every body chunk with performance.now() of its arrival. */
export function getRecorded(url: string, token: string | null): Promise<RecordedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, {
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: { at: number; data: Buffer }[] = [];
      res.on('data', (data: Buffer) => chunks.push({ at: performance.now(), data }));
      const done = new Promise<'end' | 'error'>((r) => {
        res.on('end', () => r('end'));
        res.on('error', () => r('error'));
        res.on('close', () => r(res.complete ? 'end' : 'error'));
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        chunks,
        done,
        res,
        close: () => req.destroy(),
      });
    });
  });
}

import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/** The part of s3rver (CommonJS, untyped) these tests use. */
interface S3rver {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverOptions = { address: string; port: number; silent: boolean; directory: string };
const S3rver = createRequire(import.meta.url)('s3rver') as new (o: S3rverOptions) => S3rver;

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * s3rver (an S3 API on the file system) on a free 127.0.0.1 port, in its own temp folder,
 * with one bucket. stop() / start() take it away and bring it back on the same port and
 * folder (objects survive), for retry tests. close() is idempotent and removes the folder.
 */
export class TestS3 {
  readonly bucket: string;
  readonly dir: string;
  port = 0;
  #server: S3rver | null = null;
  #closing: Promise<void> | null = null;

  private constructor(bucket: string) {
    this.bucket = bucket;
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-s3rver-'));
  }

  static async start(bucket = 'whipcast-test'): Promise<TestS3> {
    const s = new TestS3(bucket);
    try {
      await s.start();
      const c = s.client();
      await c.send(new CreateBucketCommand({ Bucket: bucket }));
      c.destroy();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const server = new S3rver({ address: '127.0.0.1', port: this.port, silent: true, directory: this.dir });
    const addr = await server.run();
    this.port = addr.port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    // Keep-alive sockets of SDK clients would hold close() open.
    server.httpServer?.closeAllConnections();
    await server.close();
  }

  /** A client for checking the bucket from the test side. */
  client(): S3Client {
    return new S3Client({
      region: 'us-east-1',
      endpoint: this.endpoint,
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Every key under `prefix`, sorted. */
  async keys(prefix = ''): Promise<string[]> {
    const c = this.client();
    try {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await c.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    } finally {
      c.destroy();
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.stop();
      } finally {
        rmSync(this.dir, { recursive: true, force: true });
      }
    })();
    return this.#closing;
  }
}

/** One request the proxy passed on (or failed on purpose). */
export interface ProxiedRequest {
  method: string;
  /** The object key (path after `/{bucket}/`), decoded. */
  key: string;
  /** Upstream status, or the injected one; 0 for a reset connection. */
  status: number;
  /** Request body, for PUTs of playlists only. */
  body?: string;
  /** performance.now() when the request arrived and when the upstream answer was complete. */
  startedAt: number;
  endedAt: number;
}

type Fault = { kind: 'status'; status: number } | { kind: 'reset' };

/**
 * A tiny HTTP proxy in front of s3rver that records every request, can fail the next ones
 * on purpose (a 503 or a reset connection, as a struggling S3 does), can delay PUTs (a slow
 * S3) and can hold PUTs until released. The signature covers the Host header, so requests
 * are passed on with the Host they were signed for.
 */
export class S3Proxy {
  readonly log: ProxiedRequest[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #faults: Fault[] = [];
  readonly #held: Array<() => void> = [];
  #holding = false;
  #delay: (key: string) => number = () => 0;
  #upstreamPort: number;
  #bucket: string;
  #closing: Promise<void> | null = null;
  port = 0;

  private constructor(upstreamPort: number, bucket: string) {
    this.#upstreamPort = upstreamPort;
    this.#bucket = bucket;
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  static async start(s3: TestS3): Promise<S3Proxy> {
    const p = new S3Proxy(s3.port, s3.bucket);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    p.port = (p.#server.address() as AddressInfo).port;
    return p;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next `n` requests fail with `status`, or with a reset connection. */
  failNext(n: number, how: number | 'reset'): void {
    for (let i = 0; i < n; i++)
      this.#faults.push(how === 'reset' ? { kind: 'reset' } : { kind: 'status', status: how });
  }

  /** Each PUT waits this many ms before it is passed on. */
  delayPuts(ms: (key: string) => number): void {
    this.#delay = ms;
  }

  /** PUTs wait until release(). */
  hold(): void {
    this.#holding = true;
  }

  release(): void {
    this.#holding = false;
    for (const go of this.#held.splice(0)) go();
  }

  get heldCount(): number {
    return this.#held.length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `/${this.#bucket}/`;
    const key = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : '';
    const entry: ProxiedRequest = {
      method: req.method ?? '',
      key,
      status: 0,
      startedAt,
      endedAt: 0,
      ...(req.method === 'PUT' && key.endsWith('.m3u8') ? { body: body.toString() } : {}),
    };
    const fault = this.#faults.shift();
    if (fault?.kind === 'reset') {
      entry.endedAt = performance.now();
      this.log.push(entry);
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      entry.status = fault.status;
      entry.endedAt = performance.now();
      this.log.push(entry);
      res.writeHead(fault.status, { 'content-type': 'application/xml' });
      const code =
        { 403: 'AccessDenied', 500: 'InternalError', 503: 'SlowDown' }[fault.status] ?? 'InvalidRequest';
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`,
      );
      return;
    }
    if (req.method === 'PUT') {
      const ms = this.#delay(key);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      if (this.#holding) await new Promise<void>((r) => this.#held.push(r));
    }
    const up = http.request(
      {
        host: '127.0.0.1',
        port: this.#upstreamPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        const out: Buffer[] = [];
        upRes.on('data', (c: Buffer) => out.push(c));
        upRes.on('end', () => {
          entry.status = upRes.statusCode ?? 0;
          entry.endedAt = performance.now();
          this.log.push(entry);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(Buffer.concat(out));
        });
      },
    );
    up.on('error', () => {
      entry.endedAt = performance.now();
      this.log.push(entry);
      res.destroy();
    });
    up.end(body);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.release();
      for (const s of this.#sockets) s.destroy();
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    })();
    return this.#closing;
  }
}

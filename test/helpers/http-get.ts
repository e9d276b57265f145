import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** ms from sending the request to the end of the answer. */
  ms: number;
}

/**
 * A plain GET (or HEAD, or any method with `body`) on loopback, path and headers (Host,
 * Origin too) sent as given; `signal` drops the connection; `localAddress` (another
 * 127.x address) makes the request come from another client.
 */
export function get(
  port: number,
  path: string,
  o: {
    headers?: Record<string, string>;
    method?: string;
    signal?: AbortSignal;
    localAddress?: string;
    body?: Buffer | string;
  } = {},
): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers:
          o.body === undefined
            ? (o.headers ?? {})
            : { 'content-length': String(Buffer.byteLength(o.body)), ...o.headers },
        agent: false,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: performance.now() - t0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    o.signal?.addEventListener('abort', () => req.destroy(new Error('aborted by the test')), { once: true });
    req.end(o.body);
  });
}

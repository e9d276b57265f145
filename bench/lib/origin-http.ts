/**
 * A bare HTTP/1.1 keep-alive client connection for bench/origin: one request in flight at
 * a time on one TCP socket, responses framed by Content-Length only (what both our origin
 * and nginx send for playlists, parts and errors). It does no more work per response than
 * finding the end of the header block and counting body bytes, so that with thousands of
 * answers arriving at once the time a response is stamped as received is spent in the
 * server, not in the client's own HTTP machinery (node:http builds an IncomingMessage,
 * a headers object and a stream per response).
 */
import net from 'node:net';

const wallMs = (): number => performance.timeOrigin + performance.now();

export interface RawResponse {
  status: number;
  /** Raw header block (latin1), without the status line's CRLF CRLF terminator. */
  head: string;
  /** The body when asked to keep it, else an empty buffer. */
  body: Buffer;
  bodyBytes: number;
  /** When the last byte of the response was read, epoch ms (high resolution). */
  receivedMs: number;
}

interface Pending {
  resolve: (r: RawResponse) => void;
  reject: (e: Error) => void;
  keepBody: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');

export class RawConnection {
  readonly #socket: net.Socket;
  readonly #hostHeader: string;
  #pending: Pending | null = null;
  #buf: Buffer = Buffer.alloc(0);
  /** Parsed head of the response being read, or null while its headers are incomplete. */
  #head: { status: number; text: string; length: number } | null = null;
  #bodyParts: Buffer[] = [];
  #bodyRead = 0;
  #closed = false;

  private constructor(socket: net.Socket, host: string, port: number) {
    this.#socket = socket;
    this.#hostHeader = `${host}:${port}`;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new Error('connection closed')));
  }

  static connect(host: string, port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConnection(s, host, port));
      });
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** GET `path`; resolves with the whole response. `headers` are extra header lines. */
  get(path: string, o: { headers?: string; keepBody?: boolean } = {}): Promise<RawResponse> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    if (this.#pending) return Promise.reject(new Error('a request is already in flight'));
    return new Promise<RawResponse>((resolve, reject) => {
      this.#pending = { resolve, reject, keepBody: o.keepBody ?? false };
      this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\n${o.headers ?? ''}\r\n`);
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #fail(e: Error): void {
    this.#closed = true;
    const p = this.#pending;
    this.#pending = null;
    p?.reject(e);
  }

  #onData(d: Buffer): void {
    let chunk: Buffer = d;
    while (chunk.length > 0) {
      if (!this.#head) {
        this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
        const end = this.#buf.indexOf(HEADER_END);
        if (end < 0) return;
        const text = this.#buf.toString('latin1', 0, end);
        const status = Number(text.slice(9, 12));
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(text);
        const noBody = status === 304 || status === 204 || (status >= 100 && status < 200);
        if (!m && !noBody) {
          this.#fail(new Error(`response without Content-Length: ${text.split('\r\n')[0]}`));
          this.#socket.destroy();
          return;
        }
        this.#head = { status, text, length: noBody ? 0 : Number(m![1]) };
        chunk = this.#buf.subarray(end + 4);
        this.#buf = Buffer.alloc(0);
        this.#bodyParts = [];
        this.#bodyRead = 0;
      }
      const head = this.#head;
      const need = head.length - this.#bodyRead;
      const take = Math.min(need, chunk.length);
      if (take > 0 && this.#pending?.keepBody) this.#bodyParts.push(chunk.subarray(0, take));
      this.#bodyRead += take;
      chunk = chunk.subarray(take);
      if (this.#bodyRead < head.length) return;
      const receivedMs = wallMs();
      const p = this.#pending;
      this.#pending = null;
      this.#head = null;
      const body = this.#bodyParts.length > 0 ? Buffer.concat(this.#bodyParts) : Buffer.alloc(0);
      this.#bodyParts = [];
      p?.resolve({ status: head.status, head: head.text, body, bodyBytes: head.length, receivedMs });
    }
  }
}

/** Opens `n` connections, `batch` at a time, so the server's accept backlog never overflows. */
export async function connectMany(
  host: string,
  port: number,
  n: number,
  batch = 200,
): Promise<RawConnection[]> {
  const out: RawConnection[] = [];
  while (out.length < n) {
    const k = Math.min(batch, n - out.length);
    out.push(...(await Promise.all(Array.from({ length: k }, () => RawConnection.connect(host, port)))));
  }
  return out;
}

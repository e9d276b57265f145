/**
 * The floor under bench/origin's held-request figure: what this machine's kernel and node
 * cost to answer N held requests at once, with no origin logic at all. Forked (pinned to
 * the origin's CPU) with FLOOR_MODE:
 *   - `net`: a bare TCP server that stamps a request "held" at its first bytes and answers
 *     with one socket.write of a prebuilt response (status line, headers and body bytes
 *     identical to what our origin sends): the kernel's cost of N sends on loopback, plus
 *     libuv's.
 *   - `http`: node:http with the same status, headers and body through writeHead + end:
 *     node's HTTP response machinery on top of that.
 * IPC: `{ cmd: 'response', head, body }` sets the answer (head: the header lines, without
 * the status line; body: base64); `{ cmd: 'held', id }` → `{ held, id }`; `{ cmd:
 * 'release', id }` answers every held request in one synchronous loop → `{ releasedMs,
 * loopMs, id }` (releasedMs: when the loop began, epoch ms).
 */
import http from 'node:http';
import net from 'node:net';

type FloorCommand =
  | { cmd: 'response'; head: string[]; body: string }
  | { cmd: 'held'; id: number }
  | { cmd: 'release'; id: number };

export type FloorMessage =
  | { ready: true; url: string }
  | { held: number; id: number }
  | { releasedMs: number; loopMs: number; id: number };

const wallMs = (): number => performance.timeOrigin + performance.now();
const mode = process.env.FLOOR_MODE === 'http' ? 'http' : 'net';

let headPairs: string[] = [];
let body: Buffer = Buffer.alloc(0);
let raw: Buffer = Buffer.alloc(0);
const heldSockets: net.Socket[] = [];
const heldResponses: http.ServerResponse[] = [];

function setResponse(head: string[], b: Buffer): void {
  headPairs = head;
  body = b;
  let text = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; i < head.length; i += 2) text += `${head[i]}: ${head[i + 1]}\r\n`;
  raw = Buffer.concat([Buffer.from(`${text}\r\n`, 'latin1'), b]);
}

const server =
  mode === 'net'
    ? net.createServer((s) => {
        s.setNoDelay(true);
        // Requests are small and one at a time per connection: the first bytes are the request.
        s.on('data', () => heldSockets.push(s));
        s.on('error', () => undefined);
      })
    : http.createServer((_req, res) => {
        heldResponses.push(res);
      });
server.listen(0, '127.0.0.1', () => {
  const a = server.address() as net.AddressInfo;
  process.send?.({ ready: true, url: `http://127.0.0.1:${a.port}` } satisfies FloorMessage);
});

process.on('message', (m: FloorCommand) => {
  switch (m.cmd) {
    case 'response':
      return setResponse(m.head, Buffer.from(m.body, 'base64'));
    case 'held':
      process.send?.({ held: heldSockets.length + heldResponses.length, id: m.id } satisfies FloorMessage);
      return;
    case 'release': {
      const releasedMs = wallMs();
      const t0 = performance.now();
      for (const s of heldSockets.splice(0)) s.write(raw);
      for (const res of heldResponses.splice(0)) {
        res.writeHead(200, headPairs);
        res.end(body);
      }
      process.send?.({ releasedMs, loopMs: performance.now() - t0, id: m.id } satisfies FloorMessage);
      return;
    }
  }
});
process.on('disconnect', () => process.exit(0));

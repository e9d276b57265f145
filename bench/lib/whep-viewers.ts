/**
 * A process full of WHEP viewers for bench/whep-fanout, run with child_process.fork so
 * that the viewers' CPU (werift: ICE, DTLS, SRTP decryption) is not the server's. The
 * parent sends commands over IPC and gets one answer per command:
 *
 *   { cmd: 'grow', url, total }  → opens viewers until there are `total` (5 at a time)
 *   { cmd: 'reset' }             → starts a new measuring window (counters to zero)
 *   { cmd: 'report' }            → per-viewer packets received / expected (sequence range) in the window
 *   { cmd: 'close' }             → closes every viewer, then the process exits
 *
 * Viewers are cheap: SRTP encrypts only the payload, so the RTP header (SSRC, sequence
 * number) of each SRTP packet is read in the clear at the socket, counted, and dropped
 * before werift's receive path would see it. Loss is
 * counted per viewer from sequence numbers per SSRC (reordering and duplicates allowed for);
 * without decryption the viewers send no NACKs, so it is the loss before any repair.
 */
import { WhepTestClient } from '../../test/helpers/whep-client.js';

/** Unique sequence numbers seen in a window, and the span they cover (16-bit wrap unrolled). */
class SeqCounter {
  #seen = new Set<number>();
  #first = 0;
  #last = -1;
  bytes = 0;

  add(seq: number, bytes: number): void {
    this.bytes += bytes;
    let ext: number;
    if (this.#last < 0) {
      ext = seq + 0x10000; // room below for late packets
      this.#first = this.#last = ext;
    } else {
      // The extended number nearest the highest seen: the 16-bit difference, signed.
      ext = this.#last + (((seq - (this.#last & 0xffff) + 0x8000) & 0xffff) - 0x8000);
      if (ext > this.#last) this.#last = ext;
      if (ext < this.#first) this.#first = ext;
    }
    this.#seen.add(ext);
  }

  get received(): number {
    return this.#seen.size;
  }

  get expected(): number {
    return this.#last < 0 ? 0 : this.#last - this.#first + 1;
  }
}

interface Viewer {
  client: WhepTestClient;
  /** Per SSRC (the viewer's video and audio tracks). */
  streams: Map<number, SeqCounter>;
}

interface TappableTransport {
  onData: (data: Buffer, addr: unknown) => void;
  socket?: { setRecvBufferSize?: (n: number) => void };
}
interface TappableConnection {
  protocols: Array<{ transport?: TappableTransport }>;
}

/** A viewer's socket buffer: 1 s of a 2.5 Mb/s stream, so a busy viewers' core loses nothing to the kernel. */
const RECV_BUFFER_BYTES = 1 << 20;

/**
 * Counts each SRTP packet's clear header at the socket and drops it there: werift's
 * receive path (ICE demux, DTLS, SRTP, RTP parse) never sees it, so a viewer costs
 * little more than the datagram's read. STUN (consent freshness), DTLS and RTCP still go
 * to werift, which keeps the session alive.
 */
function countRaw(v: Viewer, connection: TappableConnection): void {
  for (const protocol of connection.protocols) {
    const transport = protocol.transport;
    if (!transport) continue;
    try {
      transport.socket?.setRecvBufferSize?.(RECV_BUFFER_BYTES);
    } catch {
      // above net.core.rmem_max: the default stays
    }
    const original = transport.onData.bind(transport);
    transport.onData = (buf: Buffer, addr: unknown) => {
      const b0 = buf[0] ?? 0;
      const pt = buf[1] ?? 0;
      // RTP (RFC 7983: first byte 128–191) that is not RTCP (payload types 200–204 with marker).
      if (b0 >= 128 && b0 <= 191 && !(pt >= 200 && pt <= 204) && buf.length >= 12) {
        const ssrc = buf.readUInt32BE(8);
        let c = v.streams.get(ssrc);
        if (!c) {
          c = new SeqCounter();
          v.streams.set(ssrc, c);
        }
        c.add(buf.readUInt16BE(2), buf.length);
        return;
      }
      original(buf, addr);
    };
  }
}

export interface ViewerReport {
  videoReceived: number;
  videoExpected: number;
  audioReceived: number;
  audioExpected: number;
  videoBytes: number;
}

export type ViewerCommand =
  { cmd: 'grow'; url: string; total: number } | { cmd: 'reset' } | { cmd: 'report' } | { cmd: 'close' };

export type ViewerAnswer =
  { ok: true; viewers?: number; reports?: ViewerReport[] } | { ok: false; error: string };

const viewers: Viewer[] = [];

function addViewer(url: string): Promise<void> {
  return WhepTestClient.create({ url, record: false }).then(async (client) => {
    const v: Viewer = { client, streams: new Map() };
    viewers.push(v);
    await client.play();
    for (const t of client.pc.iceTransports) countRaw(v, t.connection as unknown as TappableConnection);
  });
}

async function handle(m: ViewerCommand): Promise<ViewerAnswer> {
  switch (m.cmd) {
    case 'grow': {
      while (viewers.length < m.total) {
        const batch = Math.min(5, m.total - viewers.length);
        await Promise.all(Array.from({ length: batch }, () => addViewer(m.url)));
      }
      return { ok: true, viewers: viewers.length };
    }
    case 'reset':
      for (const v of viewers) v.streams.clear();
      return { ok: true, viewers: viewers.length };
    case 'report':
      return {
        ok: true,
        reports: viewers.map((v) => {
          // The video track sends more packets than the audio one.
          const [video, audio] = [...v.streams.values()].sort((a, b) => b.expected - a.expected);
          return {
            videoReceived: video?.received ?? 0,
            videoExpected: video?.expected ?? 0,
            audioReceived: audio?.received ?? 0,
            audioExpected: audio?.expected ?? 0,
            videoBytes: video?.bytes ?? 0,
          };
        }),
      };
    case 'close':
      await Promise.allSettled(viewers.map((v) => v.client.close()));
      viewers.length = 0;
      return { ok: true, viewers: 0 };
  }
}

process.on('message', (m: ViewerCommand) => {
  void handle(m)
    .catch((e: unknown): ViewerAnswer => ({ ok: false, error: String(e) }))
    .then((a) => {
      process.send?.(a);
      if (m.cmd === 'close') process.disconnect();
    });
});
process.on('disconnect', () => {
  void Promise.allSettled(viewers.map((v) => v.client.close())).then(() => process.exit(0));
});

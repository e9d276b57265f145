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
 * Viewers record nothing but counters: no packet lists, no frame assembly.
 */
import type { RtpPacket } from 'werift';
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
  video: SeqCounter;
  audio: SeqCounter;
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
  const v: Viewer = {
    client: null as unknown as WhepTestClient,
    video: new SeqCounter(),
    audio: new SeqCounter(),
  };
  const onRtp = (kind: 'video' | 'audio', rtp: RtpPacket): void => {
    (kind === 'video' ? v.video : v.audio).add(rtp.header.sequenceNumber, rtp.payload.length);
  };
  return WhepTestClient.create({ url, record: false, onRtp }).then(async (client) => {
    v.client = client;
    viewers.push(v);
    await client.play();
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
      for (const v of viewers) {
        v.video = new SeqCounter();
        v.audio = new SeqCounter();
      }
      return { ok: true, viewers: viewers.length };
    case 'report':
      return {
        ok: true,
        reports: viewers.map((v) => ({
          videoReceived: v.video.received,
          videoExpected: v.video.expected,
          audioReceived: v.audio.received,
          audioExpected: v.audio.expected,
          videoBytes: v.video.bytes,
        })),
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

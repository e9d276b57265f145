/**
 * One pre-encoded stream sent by many WHIP publishers: a single ffmpeg reads the file at
 * its own rate (`-re`, looped, streams copied) and writes RTP to two sockets here; each
 * packet is handed to every publisher's werift track, which gives it that publisher's
 * SSRC, sequence and SRTP. N publishers then cost one ffmpeg and N SRTP senders, not N
 * ffmpegs, so the publishers' core measures what the service gets, not what feeding it costs.
 */
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { spawnOwned, terminate } from '../../src/core/child.js';
import type { WhipTestClient } from '../../test/helpers/whip-client.js';

function bind(): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });
}

/** RTCP packet types 200 to 204 sit where an RTP header has marker + payload type. */
const isRtcp = (msg: Buffer) => (msg[1] ?? 0) >= 200 && (msg[1] ?? 0) <= 204;

export class RtpFeed {
  /** Publishers fed now. */
  readonly targets = new Set<WhipTestClient>();
  /** RTP packets handed to each publisher so far (video + audio): what each one sent. */
  sent = 0;
  readonly #ffmpeg: ChildProcess;
  readonly #sockets: dgram.Socket[];
  #closing: Promise<void> | null = null;

  private constructor(ffmpeg: ChildProcess, sockets: dgram.Socket[]) {
    this.#ffmpeg = ffmpeg;
    this.#sockets = sockets;
  }

  static async start(file: string): Promise<RtpFeed> {
    const [video, audio] = [await bind(), await bind()];
    const rtp = (s: dgram.Socket) => {
      const port = s.address().port;
      return `rtp://127.0.0.1:${port}?pkt_size=1200&rtcpport=${port}`;
    };
    const ffmpeg = spawnOwned(
      process.env.FFMPEG_PATH ?? 'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file],
        ...['-map', '0:v', '-c:v', 'copy', '-f', 'rtp', rtp(video)],
        ...['-map', '0:a', '-c:a', 'copy', '-f', 'rtp', rtp(audio)],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const feed = new RtpFeed(ffmpeg, [video, audio]);
    for (const [socket, kind] of [
      [video, 'video'],
      [audio, 'audio'],
    ] as const) {
      socket.on('message', (msg) => {
        if (msg.length < 12 || isRtcp(msg)) return;
        feed.sent++;
        for (const t of feed.targets) {
          const track = kind === 'video' ? t.videoTrack : t.audioTrack;
          track?.writeRtp(msg);
        }
      });
    }
    return feed;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.targets.clear();
      await terminate(this.#ffmpeg, 2000);
      await Promise.all(this.#sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    })();
    return this.#closing;
  }
}

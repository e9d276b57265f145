import type { RtpPacket } from 'werift';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { AudioTrackInfo, VideoCodec, VideoTrackInfo } from '../../core/media.js';
import type { WhepViewerStats } from '../../core/streams.js';
import type { PeerNetworkOptions } from '../whip/peer.js';
import type { RtpListener } from '../whip/session.js';
import { startsKeyframe } from './keyframe.js';
import { negotiateViewerOffer } from './offer.js';
import { RetransmitBuffer } from './retransmit-buffer.js';
import { WhepViewer, zeroViewerStats, type ViewerEndReason, type ViewerStats } from './viewer.js';

/** What WHEP needs of a publish session (WhipSession). */
export interface RtpPublisher {
  readonly streamId: string;
  readonly sessionId: string;
  readonly video: VideoTrackInfo | null;
  readonly audio: AudioTrackInfo | null;
  readonly ended: boolean;
  onRtp(listener: RtpListener): () => void;
  onEnd(listener: (reason: string) => void): () => void;
  requestKeyframe(): void;
}

/** What WHEP needs of the ingest role (IngestRegistry). */
export interface RtpPublishers {
  publisher(streamId: string): RtpPublisher | null;
  /** Fires when a stream gets a new current session (first publish or takeover). */
  onPublisher(listener: (p: RtpPublisher) => void): () => void;
}

export interface WhepRegistryOptions {
  publishers: RtpPublishers;
  log: Logger;
  /** ICE_SERVERS. */
  iceServers: readonly string[];
  network?: Omit<PeerNetworkOptions, 'iceServers'>;
  /** MAX_VIEWERS_PER_STREAM: more get 503. @defaultValue 200 */
  maxViewersPerStream?: number;
  /** Viewer sessions at once, all streams together. @defaultValue 2000 */
  maxViewers?: number;
  /** Packets in flight per viewer before its packets are dropped. @defaultValue 512 */
  maxQueuedPackets?: number;
  /** Packets per track kept for NACKs. @defaultValue 512 */
  retransmitPackets?: number;
}

export interface PlayRequest {
  streamId: string;
  offer: string;
}

/** Viewer figures of one stream, for GET /api/streams/{stream}. */
export interface WhepStreamStats extends ViewerStats {
  viewers: number;
  /** Viewers ended because a takeover changed the video codec to one they had not negotiated. */
  endedOnCodecChange: number;
  /** Each viewer's own figures. */
  sessions: WhepViewerStats[];
}

/** The viewers of one stream and the publisher they follow. */
class StreamFanout {
  readonly streamId: string;
  readonly viewers = new Set<WhepViewer>();
  readonly buffers: { video: RetransmitBuffer; audio: RetransmitBuffer };
  /** Figures of viewers that already left. */
  readonly past: ViewerStats = zeroViewerStats();
  endedOnCodecChange = 0;
  publisher: RtpPublisher | null = null;
  #videoCodec: VideoCodec | null = null;
  #lastSessionId: string | null = null;
  #unsubscribe: (() => void)[] = [];
  readonly #log: Logger;
  readonly #onIdle: () => void;

  constructor(streamId: string, retransmitPackets: number, log: Logger, onIdle: () => void) {
    this.streamId = streamId;
    this.buffers = {
      video: new RetransmitBuffer(retransmitPackets),
      audio: new RetransmitBuffer(retransmitPackets),
    };
    this.#log = log;
    this.#onIdle = onIdle;
  }

  /** Follows `p` (the first publisher, or the one that took over). */
  attach(p: RtpPublisher): void {
    if (this.publisher === p || p.ended) return;
    const takeover = this.#lastSessionId !== null && this.#lastSessionId !== p.sessionId;
    this.#detach();
    this.publisher = p;
    this.#lastSessionId = p.sessionId;
    this.#videoCodec = p.video?.codec ?? null;
    this.buffers.video.clear();
    this.buffers.audio.clear();
    if (takeover) {
      for (const v of this.viewers) {
        // A viewer negotiated one video codec: one it cannot decode is not sent, it ends.
        if (v.sourceChanged(this.#videoCodec)) continue;
        this.endedOnCodecChange++;
        this.#log.info(
          { streamId: this.streamId, viewerId: v.sessionId, from: v.videoCodec, to: this.#videoCodec },
          'the new publisher sends a video codec this viewer did not negotiate: ending it',
        );
        void v.close('codec-changed');
      }
    }
    this.#unsubscribe.push(
      p.onRtp((kind, rtp, at) => this.#fanOut(kind, rtp, at)),
      p.onEnd(() => this.#publisherEnded(p)),
    );
    if (takeover && this.viewers.size > 0) p.requestKeyframe();
  }

  #detach(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
    this.publisher = null;
  }

  #publisherEnded(p: RtpPublisher): void {
    if (this.publisher !== p) return;
    this.#detach();
    // A takeover made another session current before this one heard it ended.
    this.#onIdle();
  }

  #fanOut(kind: 'video' | 'audio', rtp: RtpPacket, at: number): void {
    this.buffers[kind].push(rtp);
    if (this.viewers.size === 0) return;
    const source = `${this.publisher?.sessionId ?? ''}:${rtp.header.ssrc}`;
    const key =
      kind === 'video' && this.#videoCodec !== null && startsKeyframe(this.#videoCodec, rtp.payload);
    for (const v of this.viewers) {
      try {
        v.forward(kind, source, rtp, key, at);
      } catch (e) {
        this.#log.warn({ err: e, viewerId: v.sessionId }, 'forwarding to a viewer failed');
      }
    }
  }

  stats(): WhepStreamStats {
    const sum: WhepStreamStats = {
      viewers: this.viewers.size,
      ...this.past,
      endedOnCodecChange: this.endedOnCodecChange,
      sessions: [],
    };
    for (const v of this.viewers) {
      for (const k of Object.keys(this.past) as (keyof ViewerStats)[]) sum[k] += v.stats[k];
      sum.sessions.push(v.view());
    }
    return sum;
  }

  close(): void {
    this.#detach();
  }
}

/**
 * The WHEP role: viewers per stream, each fed the current publisher's RTP (no transcode).
 * A viewer joins a live stream only (409 otherwise); it follows a takeover and ends when
 * the stream ends. close() ends every viewer.
 */
export class WhepRegistry {
  readonly #opts: WhepRegistryOptions;
  readonly #log: Logger;
  readonly #streams = new Map<string, StreamFanout>();
  readonly #viewers = new Map<string, WhepViewer>();
  #pending = 0;
  #endedOnCodecChange = 0;
  readonly #offPublisher: () => void;
  readonly #timer: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  constructor(opts: WhepRegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'whep' });
    this.#offPublisher = opts.publishers.onPublisher((p) => this.#streams.get(p.streamId)?.attach(p));
    // Sender reports once a second (RFC 3550 allows 5 s; browsers sync audio and video on them).
    this.#timer = setInterval(() => {
      for (const v of this.#viewers.values()) v.sendReports();
    }, 1000);
    this.#timer.unref();
  }

  get maxViewersPerStream(): number {
    return this.#opts.maxViewersPerStream ?? 200;
  }

  /**
   * Negotiates a viewer. Throws an AppError: `conflict` (409) when the stream is not live,
   * `bad_request` / 422 for an offer that cannot take the stream, `unavailable` (503) over
   * the viewer cap or while closing.
   */
  async play(req: PlayRequest): Promise<WhepViewer> {
    if (this.#closing) throw new AppError('unavailable', 'WHEP is shutting down');
    const { streamId } = req;
    const publisher = this.#opts.publishers.publisher(streamId);
    if (!publisher || publisher.ended) throw new AppError('conflict', `stream ${streamId} is not live`);
    const offer = negotiateViewerOffer(req.offer, {
      video: publisher.video
        ? { codec: publisher.video.codec, profileLevelId: publisher.video.profileLevelId }
        : null,
      audio: publisher.audio ? { codec: 'opus' } : null,
    });
    const fanout = this.#fanout(streamId);
    if (fanout.viewers.size + this.#pending >= this.maxViewersPerStream) {
      throw new AppError('unavailable', `stream ${streamId} has the most viewers it takes; try again later`);
    }
    if (this.#viewers.size + this.#pending >= (this.#opts.maxViewers ?? 2000)) {
      throw new AppError('unavailable', 'too many viewers; try again later');
    }
    this.#pending++;
    let viewer: WhepViewer;
    try {
      viewer = await WhepViewer.start({
        streamId,
        offer,
        videoCodec: publisher.video?.codec ?? null,
        network: { ...this.#opts.network, iceServers: this.#opts.iceServers },
        maxQueuedPackets: this.#opts.maxQueuedPackets ?? 512,
        onKeyframeNeeded: () => fanout.publisher?.requestKeyframe(),
        retransmit: (kind, seq) => fanout.buffers[kind].get(seq),
        log: this.#log,
      });
    } finally {
      this.#pending--;
    }
    const current = this.#opts.publishers.publisher(streamId);
    if (this.#closing || !current) {
      await viewer.close(this.#closing ? 'shutdown' : 'stream-ended');
      throw this.#closing
        ? new AppError('unavailable', 'WHEP is shutting down')
        : new AppError('conflict', `stream ${streamId} is not live`);
    }
    fanout.attach(current);
    fanout.viewers.add(viewer);
    this.#viewers.set(viewer.sessionId, viewer);
    viewer.onEnd((reason) => this.#viewerEnded(fanout, viewer, reason));
    current.requestKeyframe();
    this.#log.info({ streamId, viewerId: viewer.sessionId, viewers: fanout.viewers.size }, 'viewer joined');
    return viewer;
  }

  #fanout(streamId: string): StreamFanout {
    let f = this.#streams.get(streamId);
    if (!f) {
      f = new StreamFanout(streamId, this.#opts.retransmitPackets ?? 512, this.#log, () =>
        this.#publisherGone(streamId),
      );
      this.#streams.set(streamId, f);
    }
    return f;
  }

  /** The stream's publisher ended: follow the one that took over, or end every viewer. */
  #publisherGone(streamId: string): void {
    const f = this.#streams.get(streamId);
    if (!f) return;
    const next = this.#opts.publishers.publisher(streamId);
    if (next && !next.ended) {
      f.attach(next);
      return;
    }
    this.#streams.delete(streamId);
    f.close();
    for (const v of [...f.viewers]) void v.close('stream-ended');
  }

  #viewerEnded(f: StreamFanout, v: WhepViewer, reason: ViewerEndReason): void {
    this.#viewers.delete(v.sessionId);
    if (reason === 'codec-changed') this.#endedOnCodecChange++;
    if (f.viewers.delete(v)) {
      for (const k of Object.keys(f.past) as (keyof ViewerStats)[]) f.past[k] += v.stats[k];
    }
    this.#log.info({ streamId: f.streamId, viewerId: v.sessionId, reason, ...v.stats }, 'viewer left');
    if (f.viewers.size === 0 && this.#streams.get(f.streamId) === f) {
      this.#streams.delete(f.streamId);
      f.close();
    }
  }

  /** The viewer behind a WHEP session URL, if it is still running. */
  session(streamId: string, sessionId: string): WhepViewer | null {
    const v = this.#viewers.get(sessionId);
    return v && v.streamId === streamId && !v.ended ? v : null;
  }

  /** DELETE: ends the viewer; false when there is no such running viewer. */
  async end(streamId: string, sessionId: string): Promise<boolean> {
    const v = this.session(streamId, sessionId);
    if (!v) return false;
    await v.close('deleted');
    return true;
  }

  /** Viewers ended (all streams, since start) because a takeover changed the video codec. */
  get endedOnCodecChange(): number {
    return this.#endedOnCodecChange;
  }

  /** WHEP viewers of a stream now (0 when none or not live). */
  viewers(streamId: string): number {
    return this.#streams.get(streamId)?.viewers.size ?? 0;
  }

  /**
   * Viewer figures of a stream: summed over its viewers (present, and past while it has
   * any), and each present viewer's own (`sessions`).
   */
  stats(streamId: string): WhepStreamStats | null {
    return this.#streams.get(streamId)?.stats() ?? null;
  }

  /** Ends every viewer; idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      clearInterval(this.#timer);
      this.#offPublisher();
      const all = [...this.#viewers.values()];
      for (const f of this.#streams.values()) f.close();
      this.#streams.clear();
      this.#closing = Promise.allSettled(all.map((v) => v.close('shutdown'))).then(() => undefined);
    }
    return this.#closing;
  }
}

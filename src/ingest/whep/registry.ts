import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { PerClientCounts } from '../../core/per-client.js';
import type { WhepViewerStats } from '../../core/streams.js';
import { RtpFanout, type LiveStream } from '../../live/index.js';
import type { SdpSessionHandle } from '../peer/session-handle.js';
import { SessionTable } from '../peer/session-table.js';
import type { PeerNetworkOptions } from '../whip/peer.js';
import { RID } from '../sdp/simulcast.js';
import { negotiateViewerOffer } from './offer.js';
import { WhepViewer, zeroViewerStats, type ViewerEndReason, type ViewerStats } from './viewer.js';

/** What the WHEP routes (src/api/routes/whep.ts) need of the WHEP role. */
export interface WhepPlayback {
  /** Throws AppErrors: 409 not live, 400/422 offers it cannot take, 406 not the published codecs, 503 over the viewer cap. */
  play(req: PlayRequest): Promise<SdpSessionHandle & { answer: string }>;
  session(streamId: string, sessionId: string): SdpSessionHandle | null;
  end(streamId: string, sessionId: string): Promise<boolean>;
}

export interface WhepRegistryOptions {
  /** The live streams of this process. */
  streams: { get(streamId: string): LiveStream | null };
  log: Logger;
  /** ICE_SERVERS. */
  iceServers: readonly string[];
  network?: Omit<PeerNetworkOptions, 'iceServers'>;
  /** MAX_VIEWERS_PER_STREAM: more get 503. @defaultValue 200 */
  maxViewersPerStream?: number;
  /** Viewer sessions at once, all streams together. @defaultValue 2000 */
  maxViewers?: number;
  /** Viewer sessions one client holds at once (MAX_VIEWERS_PER_CLIENT); more get 429. @defaultValue 50 */
  maxViewersPerClient?: number;
  /** Packets in flight per viewer before its packets are dropped. @defaultValue 512 */
  maxQueuedPackets?: number;
  /** Packets per track kept for NACKs. @defaultValue 512 */
  retransmitPackets?: number;
}

export interface PlayRequest {
  streamId: string;
  offer: string;
  /** Who plays (a client key, src/core/client-address.ts): counted against its own cap. */
  client: string;
  /**
   * `?layer=`: the simulcast layer (rid) to get. Absent: the publisher's highest, which
   * the viewer follows as layers start and stop (switching at key frames).
   */
  layer?: string;
}

/** Viewer figures of one stream, for GET /api/streams/{stream}. */
export interface WhepStreamStats extends ViewerStats {
  viewers: number;
  /** Viewers ended because a takeover changed the video codec to one they had not negotiated. */
  endedOnCodecChange: number;
  /** Each viewer's own figures. */
  sessions: WhepViewerStats[];
}

/**
 * `?layer=` names one of the stream's simulcast layers; anything else is `bad_request`
 * (400) naming the layers there are, and nothing changes.
 */
function checkLayer(streamId: string, layer: string, layers: readonly { rid: string }[] | undefined): void {
  if (!RID.test(layer))
    throw new AppError('bad_request', 'layer must be a rid: 1-16 letters, digits, _ or -');
  if (!layers || layers.length === 0) {
    throw new AppError('bad_request', `stream ${streamId} is not simulcast: it has no layer ${layer}`);
  }
  if (!layers.some((l) => l.rid === layer)) {
    throw new AppError(
      'bad_request',
      `stream ${streamId} has no layer ${layer}; its layers are ${layers.map((l) => l.rid).join(', ')}`,
    );
  }
}

/** The viewers of one stream: its RTP fan-out (a reader of the live stream) and their figures. */
interface Watched {
  fanout: RtpFanout<WhepViewer>;
  /** Removes the fan-out from the stream's readers. */
  leave: () => void;
  /** Figures of viewers that already left. */
  past: ViewerStats;
  endedOnCodecChange: number;
}

/**
 * The WHEP role: viewers per stream, each fed the stream's current publisher's RTP (no
 * transcode) through one fan-out per stream. A viewer joins a live stream only (409
 * otherwise); it follows a takeover and ends when the stream ends. close() ends every
 * viewer.
 */
export class WhepRegistry implements WhepPlayback {
  readonly #opts: WhepRegistryOptions;
  readonly #log: Logger;
  readonly #watched = new Map<string, Watched>();
  readonly #viewers = new SessionTable<WhepViewer>();
  #pending = 0;
  /** Viewers (negotiating or playing) per client. */
  readonly #perClient = new PerClientCounts();
  #endedOnCodecChange = 0;
  readonly #timer: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  constructor(opts: WhepRegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'whep' });
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
   * the viewer cap or while closing, `too_many_requests` (429) when the client holds its
   * share of viewers already.
   */
  async play(req: PlayRequest): Promise<WhepViewer> {
    if (this.#closing) throw new AppError('unavailable', 'WHEP is shutting down');
    const { streamId } = req;
    const stream = this.#opts.streams.get(streamId);
    if (!stream || stream.ended) throw new AppError('conflict', `stream ${streamId} is not live`);
    const publisher = stream.source;
    if (req.layer !== undefined) checkLayer(streamId, req.layer, publisher.video?.layers);
    const offer = negotiateViewerOffer(req.offer, {
      video: publisher.video
        ? {
            codec: publisher.video.codec,
            profileLevelId: publisher.video.profileLevelId,
            profileIdc: publisher.video.profileIdc,
          }
        : null,
      audio: publisher.audio ? { codec: 'opus' } : null,
    });
    const here = this.#watched.get(streamId)?.fanout.sinks.size ?? 0;
    if (here + this.#pending >= this.maxViewersPerStream) {
      throw new AppError('unavailable', `stream ${streamId} has the most viewers it takes; try again later`);
    }
    if (this.#viewers.size + this.#pending >= (this.#opts.maxViewers ?? 2000)) {
      throw new AppError('unavailable', 'too many viewers; try again later');
    }
    const perClient = this.#opts.maxViewersPerClient ?? 50;
    if (!this.#perClient.take(req.client, perClient)) {
      throw new AppError(
        'too_many_requests',
        `this client holds ${perClient} viewer sessions, the most one client may (MAX_VIEWERS_PER_CLIENT); end one first`,
      );
    }
    let counted = true;
    const uncount = () => {
      if (counted) this.#perClient.release(req.client);
      counted = false;
    };
    this.#pending++;
    let viewer: WhepViewer;
    try {
      viewer = await WhepViewer.start({
        streamId,
        offer,
        videoCodec: publisher.video?.codec ?? null,
        network: { ...this.#opts.network, iceServers: this.#opts.iceServers },
        maxQueuedPackets: this.#opts.maxQueuedPackets ?? 512,
        onKeyframeNeeded: (rid) => this.#watched.get(streamId)?.fanout.requestKeyframe(rid),
        retransmit: (kind, seq, rid) => this.#watched.get(streamId)?.fanout.retransmit(kind, seq, rid),
        layer: req.layer ?? null,
        log: this.#log,
      });
    } catch (e) {
      uncount();
      throw e;
    } finally {
      this.#pending--;
    }
    // A viewer that ended while it was negotiated hears no end any more.
    if (viewer.ended) uncount();
    else viewer.onEnd(uncount);
    const now = this.#opts.streams.get(streamId);
    if (this.#closing || !now || now.ended) {
      await viewer.close(this.#closing ? 'shutdown' : 'stream-ended');
      throw this.#closing
        ? new AppError('unavailable', 'WHEP is shutting down')
        : new AppError('conflict', `stream ${streamId} is not live`);
    }
    const w = this.#watch(now);
    w.fanout.sinks.add(viewer);
    this.#viewers.add(viewer, (l) => viewer.onEnd(l));
    viewer.onEnd((reason) => this.#viewerEnded(w, viewer, reason));
    w.fanout.requestKeyframe(req.layer);
    this.#log.info(
      { streamId, viewerId: viewer.sessionId, viewers: w.fanout.sinks.size, layer: req.layer },
      'viewer joined',
    );
    return viewer;
  }

  /** The stream's fan-out, made and added to its readers at its first viewer. */
  #watch(stream: LiveStream): Watched {
    const known = this.#watched.get(stream.id);
    if (known) return known;
    const fanout: RtpFanout<WhepViewer> = new RtpFanout<WhepViewer>({
      streamId: stream.id,
      retransmitPackets: this.#opts.retransmitPackets ?? 512,
      log: this.#log,
      onCodecChanged: (sink, from, to) => {
        w.endedOnCodecChange++;
        this.#log.info(
          { streamId: stream.id, viewerId: sink.sessionId, from, to },
          'the new publisher sends a video codec this viewer did not negotiate: ending it',
        );
        void sink.close('codec-changed');
      },
      onStreamEnded: () => {
        this.#unwatch(w);
        for (const v of [...fanout.sinks]) void v.close('stream-ended');
      },
    });
    const w: Watched = { fanout, leave: () => undefined, past: zeroViewerStats(), endedOnCodecChange: 0 };
    this.#watched.set(stream.id, w);
    w.leave = stream.addReader(fanout);
    return w;
  }

  #unwatch(w: Watched): void {
    if (this.#watched.get(w.fanout.streamId) === w) this.#watched.delete(w.fanout.streamId);
    w.leave();
    w.fanout.close();
  }

  #viewerEnded(w: Watched, v: WhepViewer, reason: ViewerEndReason): void {
    if (reason === 'codec-changed') this.#endedOnCodecChange++;
    if (w.fanout.sinks.delete(v)) {
      for (const k of Object.keys(w.past) as (keyof ViewerStats)[]) w.past[k] += v.stats[k];
    }
    this.#log.info({ streamId: w.fanout.streamId, viewerId: v.sessionId, reason, ...v.stats }, 'viewer left');
    if (w.fanout.sinks.size === 0) this.#unwatch(w);
  }

  /** The viewer behind a WHEP session URL, if it is still running. */
  session(streamId: string, sessionId: string): WhepViewer | null {
    return this.#viewers.get(streamId, sessionId);
  }

  /** DELETE: ends the viewer; false when there is no such running viewer. */
  end(streamId: string, sessionId: string): Promise<boolean> {
    return this.#viewers.end(streamId, sessionId);
  }

  /** Viewers ended (all streams, since start) because a takeover changed the video codec. */
  get endedOnCodecChange(): number {
    return this.#endedOnCodecChange;
  }

  /** WHEP viewers of a stream now (0 when none or not live). */
  viewers(streamId: string): number {
    return this.#watched.get(streamId)?.fanout.sinks.size ?? 0;
  }

  /**
   * Viewer figures of a stream: summed over its viewers (present, and past while it has
   * any), and each present viewer's own (`sessions`).
   */
  stats(streamId: string): WhepStreamStats | null {
    const w = this.#watched.get(streamId);
    if (!w) return null;
    const sum: WhepStreamStats = {
      viewers: w.fanout.sinks.size,
      ...w.past,
      endedOnCodecChange: w.endedOnCodecChange,
      sessions: [],
    };
    for (const v of w.fanout.sinks) {
      for (const k of Object.keys(w.past) as (keyof ViewerStats)[]) sum[k] += v.stats[k];
      sum.sessions.push(v.view());
    }
    return sum;
  }

  /** Ends every viewer; idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      clearInterval(this.#timer);
      const all = this.#viewers.values();
      for (const w of [...this.#watched.values()]) this.#unwatch(w);
      this.#closing = Promise.allSettled(all.map((v) => v.close('shutdown'))).then(() => undefined);
    }
    return this.#closing;
  }
}

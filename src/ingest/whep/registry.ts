import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { PerClientCounts } from '../../core/per-client.js';
import type { WhepViewerStats } from '../../core/streams.js';
import { RtpFanout, type LiveStream } from '../../live/index.js';
import type { SdpSessionHandle } from '../peer/session-handle.js';
import { SessionTable } from '../peer/session-table.js';
import type { PeerNetworkOptions } from '../whip/peer.js';
import { RID } from '../sdp/simulcast.js';
import { negotiateViewerOffer, type NegotiatedViewerOffer } from './offer.js';
import type { RungFeedHandle, RungFeeds } from './rung-feeds.js';
import { WHEP_MODES, type WhepMode } from './viewer-mode.js';
import { RUNG_NAME } from '../../core/preset.js';
import { WhepViewer, zeroViewerStats, type ViewerEndReason, type ViewerStats } from './viewer.js';

/** What the WHEP routes (src/api/routes/whep.ts) need of the WHEP role. */
export interface WhepPlayback {
  /** Throws AppErrors: 409 not live, 400/422 offers it cannot take, 406 not the published codecs, 503 over the viewer cap. */
  play(req: PlayRequest): Promise<SdpSessionHandle & { answer: string }>;
  session(streamId: string, sessionId: string): SdpSessionHandle | null;
  end(streamId: string, sessionId: string): Promise<boolean>;
  /** Whether the stream's publisher is on this process (passthrough can be served here). */
  publishes(streamId: string): boolean;
}

export interface WhepRegistryOptions {
  /** The live streams of this process (ingest role); null: none here (rung mode only). */
  streams: { get(streamId: string): LiveStream | null } | null;
  /** The ladders as RTP, from this process's origin (rung mode, fast join); null: none. */
  rungs?: RungFeeds | null;
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
  /** `?mode=` (see WhepMode). @defaultValue 'passthrough' where the publisher is, else 'rung' */
  mode?: string;
  /** `?rendition=`: a rung to stay on (rung mode). */
  rendition?: string;
}

/** An H.264 profile every rung of a ladder decodes with (main: the presets' rungs are main or high, B-frame free). */
const LADDER_VIDEO = { codec: 'h264' as const, profileLevelId: '4d001f', profileIdc: 0x4d };

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

/**
 * The viewers of one stream on this process: its RTP fan-out (a reader of the live stream,
 * for passthrough viewers) and its ladder feed (rung mode, fast join), and their figures.
 */
interface Watched {
  streamId: string;
  viewers: Set<WhepViewer>;
  /** Passthrough viewers get the publisher's RTP from here; null: the publisher is elsewhere. */
  fanout: RtpFanout<WhepViewer> | null;
  /** Removes the fan-out from the stream's readers. */
  leave: () => void;
  feed: RungFeedHandle | null;
  /** Figures of viewers that already left. */
  past: ViewerStats;
  endedOnCodecChange: number;
}

/** `?mode=` checked; absent: undefined (the registry picks). */
function checkMode(mode: string | undefined): WhepMode | undefined {
  if (mode === undefined) return undefined;
  if (!(WHEP_MODES as readonly string[]).includes(mode))
    throw new AppError('bad_request', `mode must be one of ${WHEP_MODES.join(', ')}`);
  return mode as WhepMode;
}

/**
 * The WHEP role: viewers per stream. A passthrough viewer is fed the stream's current
 * publisher's RTP (no transcode) through one fan-out per stream, and starts on a rung of
 * the ladder when one has a key frame first; a rung-mode viewer gets the ladder the
 * workers publish, on any process whose origin receives it (no publisher needed here).
 * A viewer joins a live stream only (409 otherwise); it follows a takeover and ends when
 * the stream ends. close() ends every viewer.
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
  #ticks = 0;
  #closing: Promise<void> | null = null;

  constructor(opts: WhepRegistryOptions) {
    this.#opts = opts;
    this.#log = opts.log.child({ component: 'whep' });
    // Rungs follow each viewer's bandwidth every half second; sender reports once a
    // second (RFC 3550 allows 5 s; browsers sync audio and video on them).
    this.#timer = setInterval(() => {
      const now = performance.timeOrigin + performance.now();
      const reports = this.#ticks++ % 2 === 0;
      for (const v of this.#viewers.values()) {
        v.adapt(now);
        if (reports) v.sendReports();
      }
    }, 500);
    this.#timer.unref();
  }

  get maxViewersPerStream(): number {
    return this.#opts.maxViewersPerStream ?? 200;
  }

  /**
   * Negotiates a viewer. Throws an AppError: `conflict` (409) when the stream is not live,
   * `bad_request` / 422 for an offer that cannot take the stream, 406 when the viewer
   * takes neither the published codec nor the ladder's, `unavailable` (503) over the
   * viewer cap or while closing, `too_many_requests` (429) when the client holds its
   * share of viewers already.
   */
  async play(req: PlayRequest): Promise<WhepViewer> {
    if (this.#closing) throw new AppError('unavailable', 'WHEP is shutting down');
    const { streamId } = req;
    const asked = checkMode(req.mode);
    if (req.rendition !== undefined && !RUNG_NAME.test(req.rendition))
      throw new AppError('bad_request', 'rendition must be a rung name such as 360p');
    const local = this.#opts.streams?.get(streamId) ?? null;
    const stream = local && !local.ended ? local : null;
    const rungs = this.#opts.rungs ?? null;
    const ladder = rungs?.live(streamId) ?? false;
    if (!stream && !ladder) throw new AppError('conflict', `stream ${streamId} is not live`);
    // Passthrough needs the publisher's RTP, which only its ingest process has; elsewhere
    // (another API process behind the load balancer) the viewer gets the ladder.
    let mode: WhepMode = asked ?? (stream ? 'passthrough' : 'rung');
    if (mode === 'passthrough' && !stream) mode = 'rung';
    if (mode === 'rung' && !ladder) {
      throw new AppError('conflict', `stream ${streamId} has no ladder yet (its transcode is starting)`);
    }
    if (req.rendition !== undefined) {
      const known =
        rungs
          ?.peek(streamId)
          ?.rungs()
          .map((r) => r.name) ?? [];
      if (known.length > 0 && !known.includes(req.rendition))
        throw new AppError(
          'bad_request',
          `stream ${streamId} has no rung ${req.rendition}; its rungs are ${known.join(', ')}`,
        );
    }
    let offer: NegotiatedViewerOffer;
    let videoCodec = stream?.source.video?.codec ?? null;
    if (mode === 'passthrough') {
      const publisher = stream!.source;
      if (req.layer !== undefined) checkLayer(streamId, req.layer, publisher.video?.layers);
      try {
        offer = negotiateViewerOffer(req.offer, {
          video: publisher.video
            ? {
                codec: publisher.video.codec,
                profileLevelId: publisher.video.profileLevelId,
                profileIdc: publisher.video.profileIdc,
              }
            : null,
          audio: publisher.audio ? { codec: 'opus' } : null,
        });
      } catch (e) {
        // The codec bridge: a viewer that cannot decode what is published (AV1, H.265)
        // watches the ladder, when it takes H.264 and there is one.
        if (!(e instanceof AppError) || e.status !== 406 || !ladder || asked === 'passthrough') throw e;
        mode = 'rung';
        offer = negotiateViewerOffer(req.offer, { video: LADDER_VIDEO, audio: { codec: 'opus' } });
      }
    } else {
      offer = negotiateViewerOffer(req.offer, { video: LADDER_VIDEO, audio: { codec: 'opus' } });
    }
    if (mode === 'rung') videoCodec = 'h264';
    const here = this.#watched.get(streamId)?.viewers.size ?? 0;
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
    // Held from here so that the feed is receiving parts by the time DTLS is up. Fast join
    // only for a viewer whose video is H.264, the ladder's codec (a VP8 viewer of a VP8
    // publisher waits for the publisher's key frame).
    const feed = ladder && rungs && videoCodec === 'h264' ? rungs.acquire(streamId) : null;
    this.#pending++;
    let viewer: WhepViewer;
    try {
      viewer = await WhepViewer.start({
        streamId,
        offer,
        videoCodec,
        network: { ...this.#opts.network, iceServers: this.#opts.iceServers },
        maxQueuedPackets: this.#opts.maxQueuedPackets ?? 512,
        onKeyframeNeeded: (rid) => this.#watched.get(streamId)?.fanout?.requestKeyframe(rid),
        retransmit: (kind, seq, rid) => this.#watched.get(streamId)?.fanout?.retransmit(kind, seq, rid),
        layer: req.layer ?? null,
        mode,
        rungs: feed?.feed ?? null,
        pinnedRung: req.rendition ?? null,
        log: this.#log,
      });
    } catch (e) {
      uncount();
      feed?.release();
      throw e;
    } finally {
      this.#pending--;
    }
    // A viewer that ended while it was negotiated hears no end any more.
    if (viewer.ended) uncount();
    else viewer.onEnd(uncount);
    const now = this.#opts.streams?.get(streamId) ?? null;
    const gone = mode === 'passthrough' ? !now || now.ended : !(rungs?.live(streamId) ?? false);
    if (this.#closing || gone) {
      feed?.release();
      await viewer.close(this.#closing ? 'shutdown' : 'stream-ended');
      throw this.#closing
        ? new AppError('unavailable', 'WHEP is shutting down')
        : new AppError('conflict', `stream ${streamId} is not live`);
    }
    const w = this.#watch(streamId, now && !now.ended ? now : null);
    w.viewers.add(viewer);
    if (mode === 'passthrough') w.fanout?.sinks.add(viewer);
    if (feed) this.#feedWatch(w, feed);
    this.#viewers.add(viewer, (l) => viewer.onEnd(l));
    viewer.onEnd((reason) => this.#viewerEnded(w, viewer, reason));
    if (mode === 'passthrough') w.fanout?.requestKeyframe(req.layer);
    this.#log.info(
      {
        streamId,
        viewerId: viewer.sessionId,
        viewers: w.viewers.size,
        layer: req.layer,
        mode,
        rendition: req.rendition,
      },
      'viewer joined',
    );
    return viewer;
  }

  /** The stream's viewers here, made at its first viewer (the fan-out when the publisher is here). */
  #watch(streamId: string, stream: LiveStream | null): Watched {
    const known = this.#watched.get(streamId);
    if (known) {
      if (!known.fanout && stream) this.#attachFanout(known, stream);
      return known;
    }
    const w: Watched = {
      streamId,
      viewers: new Set(),
      fanout: null,
      leave: () => undefined,
      feed: null,
      past: zeroViewerStats(),
      endedOnCodecChange: 0,
    };
    this.#watched.set(streamId, w);
    if (stream) this.#attachFanout(w, stream);
    return w;
  }

  #attachFanout(w: Watched, stream: LiveStream): void {
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
        for (const v of [...w.viewers]) void v.close('stream-ended');
      },
    });
    w.fanout = fanout;
    w.leave = stream.addReader(fanout);
  }

  /** The first viewer's feed handle serves the stream's viewers here; later ones release theirs. */
  #feedWatch(w: Watched, feed: RungFeedHandle): void {
    if (w.feed) {
      feed.release();
      return;
    }
    w.feed = feed;
    const off = feed.feed.onPacket((p, nowMs) => {
      for (const v of w.viewers) v.forwardRung(p, nowMs);
    });
    const release = feed.release;
    w.feed = {
      ...feed,
      release: () => {
        off();
        release();
      },
    };
    // Where the publisher is not (no fan-out to say so), the ladder's end is the stream's.
    feed.onEnded(() => {
      if (w.fanout) return;
      this.#unwatch(w);
      for (const v of [...w.viewers]) void v.close('stream-ended');
    });
  }

  #unwatch(w: Watched): void {
    if (this.#watched.get(w.streamId) === w) this.#watched.delete(w.streamId);
    w.leave();
    w.fanout?.close();
    w.feed?.release();
    w.feed = null;
  }

  #viewerEnded(w: Watched, v: WhepViewer, reason: ViewerEndReason): void {
    if (reason === 'codec-changed') this.#endedOnCodecChange++;
    w.fanout?.sinks.delete(v);
    if (w.viewers.delete(v)) {
      for (const k of Object.keys(w.past) as (keyof ViewerStats)[]) w.past[k] += v.stats[k];
    }
    this.#log.info({ streamId: w.streamId, viewerId: v.sessionId, reason, ...v.stats }, 'viewer left');
    if (w.viewers.size === 0) this.#unwatch(w);
  }

  publishes(streamId: string): boolean {
    const s = this.#opts.streams?.get(streamId) ?? null;
    return s !== null && !s.ended;
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
    return this.#watched.get(streamId)?.viewers.size ?? 0;
  }

  /**
   * Viewer figures of a stream: summed over its viewers (present, and past while it has
   * any), and each present viewer's own (`sessions`).
   */
  stats(streamId: string): WhepStreamStats | null {
    const w = this.#watched.get(streamId);
    if (!w) return null;
    const sum: WhepStreamStats = {
      viewers: w.viewers.size,
      ...w.past,
      endedOnCodecChange: w.endedOnCodecChange,
      sessions: [],
    };
    for (const v of w.viewers) {
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

import { Writable } from 'node:stream';
import { isStreamId } from '../../core/ids.js';
import type { Logger } from '../../core/log.js';
import { JSON_TYPE, MULTIVARIANT_NAME, objectKey, playlistName, PLAYLIST_TYPE, stateName } from '../names.js';
import type { LiveBus, LivePublishedPart } from './bus.js';
import { liveMultivariant } from './multivariant.js';
import { renderLivePlaylist, renditionReport } from './playlist.js';
import { LiveRendition, type RunContext } from './rendition.js';
import { DEFAULT_WINDOW_SEGMENTS, MIN_WINDOW_SEGMENTS } from './timeline.js';
import type { LivePackagerArgs, LivePackagerFactory, LivePackagerLike, LivePackagerRun } from './types.js';
import { LatestWriter } from './latest-writer.js';
import { encodeSnapshot } from './state-store.js';
import { renderMultivariantPlaylist } from '../playlist/multivariant.js';
import type { RenditionReport } from '../playlist/media.js';
import { checkRenditions, type RenditionSpec } from '../rendition.js';
import type { Storage } from '../storage/storage.js';
import { WHEP_AUDIO_RENDITION } from '../../core/preset.js';
import type { MultivariantOptions } from '../playlist/audio-rendition.js';

export interface LivePackagerOptions extends MultivariantOptions {
  storage: Storage;
  /** Where parts are announced to origins (in-process, and over Redis to other processes). */
  bus: LiveBus;
  /** Complete segments each playlist lists; as many more are kept in storage as a grace period. @defaultValue 10 */
  windowSegments?: number;
  /** Cap on one MP4 box, bytes (see Fmp4SplitterOptions). */
  maxBoxBytes?: number;
  /** Clock, epoch ms. @defaultValue Date.now */
  now?: () => number;
}

/** The factory the live worker job takes: storage and bus bound once, one packager per job attempt. */
export function createLivePackagerFactory(o: LivePackagerOptions): LivePackagerFactory {
  if (
    o.windowSegments !== undefined &&
    (!Number.isInteger(o.windowSegments) || o.windowSegments < MIN_WINDOW_SEGMENTS)
  ) {
    throw new RangeError(`windowSegments must be a whole number >= ${MIN_WINDOW_SEGMENTS}`);
  }
  return (args) => new LivePackager(o, args);
}

/**
 * Packages one live stream into LL-HLS: per rendition, parts and segments to storage,
 * the playlist state on the bus after every part, playlists to storage (for plain GETs,
 * restarts and the next worker), and index.m3u8 once every rendition has its first part.
 * See live-types.ts for what the worker guarantees.
 */
export class LivePackager implements LivePackagerLike {
  readonly streamId: string;
  readonly #o: LivePackagerOptions;
  readonly #log: Logger;
  readonly #renditions = new Map<string, LiveRendition>();
  readonly #writers = new Map<string, LatestWriter>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Renditions whose EXT-X-RENDITION-REPORT the other stored playlists carry. */
  readonly #reporting = new Set<string>();
  readonly #multivariant: LatestWriter;
  #ready: Promise<void>;
  readonly #args: LivePackagerArgs;
  #run: (RunContext & { taken: Set<string>; ready: Promise<void> }) | null = null;
  #runSeq = 0;
  #initIndex = 0;
  #writtenAverages: number[] = [];
  #lastWarnMs = 0;
  #multivariantKey = '';
  #ending: Promise<void> | null = null;
  #closing: Promise<void> | null = null;

  constructor(o: LivePackagerOptions, a: LivePackagerArgs) {
    if (!isStreamId(a.streamId))
      throw new RangeError(`stream id ${JSON.stringify(a.streamId)} is not allowed`);
    if (!(a.segmentSeconds > 0 && a.segmentSeconds <= 60))
      throw new RangeError('segmentSeconds must be in (0, 60]');
    if (!(a.partSeconds > 0 && a.partSeconds <= a.segmentSeconds)) {
      throw new RangeError('partSeconds must be in (0, segmentSeconds]');
    }
    checkRenditions(a.renditions);
    this.streamId = a.streamId;
    this.#o = o;
    this.#log = a.log.child({ streamId: a.streamId, component: 'live-packager' });
    this.#args = a;
    const onError = (what: string) => (err: unknown) => this.#log.warn({ err }, `${what} failed`);
    for (const spec of a.renditions) this.#add(spec);
    this.#multivariant = new LatestWriter(() => this.#writeMultivariant(), onError('writing index.m3u8'));
    this.#ready = this.#loadAll([...this.#renditions.values()], Promise.resolve());
    // Observed by every operation; a failed resume fails them all.
    this.#ready.catch((err: unknown) => this.#log.error({ err }, 'could not resume the stored playlists'));
  }

  /** A rendition of the stream, not yet resumed (#loadAll). */
  #add(spec: RenditionSpec): LiveRendition {
    const a = this.#args;
    const r = new LiveRendition({
      streamId: a.streamId,
      spec,
      storage: this.#o.storage,
      log: this.#log,
      partSeconds: a.partSeconds,
      segmentSeconds: a.segmentSeconds,
      ...(a.firstSegmentSeconds === undefined ? {} : { firstSegmentSeconds: a.firstSegmentSeconds }),
      ...(a.gopSeconds === undefined ? {} : { gopSeconds: a.gopSeconds }),
      windowSegments: this.#o.windowSegments ?? DEFAULT_WINDOW_SEGMENTS,
      ...(this.#o.maxBoxBytes === undefined ? {} : { maxBoxBytes: this.#o.maxBoxBytes }),
      gapDuration: (msn) => this.#gapDuration(msn),
      changed: (rr, part, body) => this.#changed(rr, part, body),
      deleteLater: (names) => this.#delete(names),
    });
    this.#renditions.set(spec.name, r);
    this.#writers.set(
      spec.name,
      new LatestWriter(
        () => this.#writePlaylist(r),
        (err: unknown) => this.#warnSometimes(err, `writing ${spec.name}.m3u8 failed`),
      ),
    );
    return r;
  }

  /** Resumes `rs` from their stored state, after `before`; init indexes go on from the highest. */
  #loadAll(rs: LiveRendition[], before: Promise<void>): Promise<void> {
    return before
      .then(() => Promise.all(rs.map((r) => r.enqueue(() => r.load()))))
      .then(() => {
        this.#initIndex = Math.max(this.#initIndex, ...rs.map((r) => r.initIndex));
      });
  }

  startRun(epochMs: number, renditions?: RenditionSpec[]): LivePackagerRun {
    if (this.#closing || this.#ending)
      throw new Error(`live packager ${this.streamId}: startRun() after end() or close()`);
    if (!Number.isFinite(epochMs)) throw new RangeError('epochMs must be a number');
    if (renditions) {
      // A new plan (a source of another shape took over): renditions it adds start now,
      // after resuming whatever a previous worker stored of them; those it keeps take
      // their new size.
      checkRenditions(renditions);
      const added: LiveRendition[] = [];
      for (const spec of renditions) {
        const known = this.#renditions.get(spec.name);
        if (known) known.spec = spec;
        else added.push(this.#add(spec));
      }
      if (added.length > 0) this.#ready = this.#loadAll(added, this.#ready);
    }
    const prev = this.#run;
    const run = {
      seq: ++this.#runSeq,
      epochMs,
      initIndex: 0,
      firstMsn: 1,
      taken: new Set<string>(),
      ready: Promise.resolve(),
    };
    this.#run = run;
    const rs = [...this.#renditions.values()];
    run.ready = this.#ready.then(async () => {
      // Runs are sequential: whatever the previous run left open ends here first.
      if (prev) await Promise.all(rs.map((r) => r.enqueue(() => r.finish(prev))));
      run.initIndex = ++this.#initIndex;
      run.firstMsn = Math.max(...rs.map((r) => r.nextMsn));
      this.#log.info({ run: run.seq, firstMsn: run.firstMsn, epochMs }, 'live run started');
    });
    run.ready.catch(() => undefined);
    return { writable: (name) => this.#writable(run, name) };
  }

  end(): Promise<void> {
    this.#ending ??= (async () => {
      await this.#ready;
      const run = this.#run;
      if (run) await run.ready.catch(() => undefined);
      await Promise.all([...this.#renditions.values()].map((r) => r.enqueue(() => r.end(this.#runSeq))));
      await this.#flush();
      this.#log.info('live stream ended');
    })();
    return this.#ending;
  }

  /** Stops taking input and waits for the writes under way; writes nothing more (another worker may go on). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#ready.catch(() => undefined);
      await this.#run?.ready.catch(() => undefined);
      await Promise.allSettled([...this.#renditions.values()].map((r) => r.drain()));
      await this.#flush();
    })();
    return this.#closing;
  }

  #writable(run: RunContext & { taken: Set<string>; ready: Promise<void> }, name: string): Writable {
    const r = this.#renditions.get(name);
    if (!r) throw new RangeError(`no rendition named ${JSON.stringify(name)}`);
    if (run.taken.has(name)) throw new Error(`rendition ${name} already has its writable in this run`);
    run.taken.add(name);
    // Data for a run that is no longer current (or after close) is acknowledged and dropped.
    const live = () => this.#run === run && !this.#closing && !this.#ending;
    return new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (!live()) return cb();
        run.ready.then(() => r.enqueue(() => r.push(run, chunk))).then(() => cb(), cb);
      },
      final: (cb) => {
        // After close() nothing more is written: another worker may own the playlists now.
        if (this.#closing) return cb();
        run.ready.then(() => r.enqueue(() => r.finish(run))).then(() => cb(), cb);
      },
      destroy: (err, cb) => {
        if (this.#closing) return cb(err);
        // An aborted input still completes the segment its published parts belong to.
        run.ready
          .then(() => r.enqueue(() => r.finish(run)))
          .catch((e: unknown) =>
            this.#log.warn({ err: e, rendition: name }, 'finishing an aborted input failed'),
          )
          .finally(() => cb(err));
      },
    });
  }

  /** After every change of a rendition's playlist: announce it, then store it. */
  #changed(r: LiveRendition, part: LivePublishedPart | null, body?: Buffer): void {
    const t = r.timeline;
    if (!t) return;
    const at = (this.#o.now ?? Date.now)();
    this.#track(
      this.#o.bus.publish({
        v: 1,
        streamId: this.streamId,
        rendition: r.spec.name,
        state: t.state,
        part,
        at,
        ...(part && body ? { partBody: body } : {}),
      }),
    );
    this.#writers.get(r.spec.name)!.schedule();
    // The stored copies of the other playlists gain this rendition's report: rewrite them
    // once now (later they follow with their own next part, a part behind at most).
    if (!this.#reporting.has(r.spec.name) && renditionReport(t.state)) {
      this.#reporting.add(r.spec.name);
      for (const [name, w] of this.#writers) if (name !== r.spec.name) w.schedule();
    }
    this.#maybeMultivariant();
  }

  #reports(except: string): RenditionReport[] {
    const out: RenditionReport[] = [];
    for (const r of this.#renditions.values()) {
      if (r.spec.name === except || !r.timeline) continue;
      const rep = renditionReport(r.timeline.state);
      if (rep) out.push(rep);
    }
    return out;
  }

  /** The rendition's state (what a failover resumes from), then its playlist: never the other way round. */
  async #writePlaylist(r: LiveRendition): Promise<void> {
    const snapshot = r.snapshot();
    if (!snapshot) return;
    const text = renderLivePlaylist(snapshot.state, { reports: this.#reports(r.spec.name) });
    await this.#o.storage.put(
      objectKey(this.streamId, stateName(r.spec.name)),
      encodeSnapshot(snapshot),
      JSON_TYPE,
    );
    await this.#o.storage.put(
      objectKey(this.streamId, playlistName(r.spec.name)),
      Buffer.from(text),
      PLAYLIST_TYPE,
    );
  }

  /**
   * index.m3u8 once every rendition the run feeds has a complete segment: every player
   * (Shaka in particular) can then start on any variant it lists. Rewritten when the
   * ladder's members, codecs or sizes change, when a BANDWIDTH is raised, and when an
   * AVERAGE-BANDWIDTH moves by more than 10 % from what was written.
   */
  /** The run's renditions a Multivariant Playlist lists (not WHEP's Opus, which players never load). */
  #listed(run: { taken: Set<string> }): LiveRendition[] {
    return [...run.taken].filter((n) => n !== WHEP_AUDIO_RENDITION).map((n) => this.#renditions.get(n)!);
  }

  #maybeMultivariant(): void {
    const run = this.#run;
    if (!run) return;
    const members = this.#listed(run);
    if (members.some((r) => r.runSegments.length === 0 || !r.track)) return;
    this.#multivariant.schedule();
  }

  async #writeMultivariant(): Promise<void> {
    const run = this.#run;
    if (!run) return;
    const members = this.#listed(run);
    if (members.some((r) => !r.track || !r.timeline || r.runSegments.length === 0)) return;
    const playlist = liveMultivariant(
      members.map((r) => ({
        spec: r.spec,
        track: r.track!,
        ...(r.frameSeconds === undefined ? {} : { frameSeconds: r.frameSeconds }),
        segments: r.runSegments,
        measuredPeakBps: r.measuredPeakBps,
      })),
      this.#o,
    );
    const key = playlist.variants
      .map(
        (v) =>
          `${v.uri}:${v.codecs?.join('+')}:${v.resolution?.width}x${v.resolution?.height}:${v.bandwidth}`,
      )
      .join(',');
    const averages = playlist.variants.map((v) => v.averageBandwidth ?? 0);
    const drifted = averages.some((a, i) => {
      const was = this.#writtenAverages[i] ?? 0;
      return was === 0 || Math.abs(a - was) / was > 0.1;
    });
    if (key === this.#multivariantKey && !drifted) return;
    const text = renderMultivariantPlaylist(playlist);
    this.#multivariantKey = key;
    this.#writtenAverages = averages;
    await this.#o.storage.put(objectKey(this.streamId, MULTIVARIANT_NAME), Buffer.from(text), PLAYLIST_TYPE);
    this.#log.debug('index.m3u8 written');
  }

  #gapDuration(msn: number): number | undefined {
    for (const r of this.#renditions.values()) {
      const seg = r.timeline?.segment(msn);
      if (seg && !seg.gap) return seg.duration;
    }
    return undefined;
  }

  #delete(names: string[]): void {
    for (const name of names) {
      this.#track(
        this.#o.storage
          .delete(objectKey(this.streamId, name))
          .catch((err: unknown) => this.#warnSometimes(err, `deleting ${name} failed`)),
      );
    }
  }

  /** A storage failure, logged at most once per 10 s: an outage must not flood the log at the part rate. */
  #warnSometimes(err: unknown, what: string): void {
    const now = Date.now();
    if (now - this.#lastWarnMs < 10_000) return;
    this.#lastWarnMs = now;
    this.#log.warn({ err }, what);
  }

  #track(p: Promise<unknown>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  async #flush(): Promise<void> {
    await Promise.allSettled([...this.#writers.values()].map((w) => w.flush()));
    await this.#multivariant.flush();
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

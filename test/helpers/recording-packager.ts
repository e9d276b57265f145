import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { Fmp4Splitter } from '../../src/packager/fmp4-splitter.js';
import type {
  LivePackagerFactory,
  LivePackagerLike,
  LivePackagerRun,
} from '../../src/packager/live/types.js';
import type { RenditionSpec } from '../../src/packager/rendition.js';

/** A live packager test double: records what each run's writables received. */
export interface RecordedRendition {
  bytes: number;
  /** Parsed as it arrives: the init segment and whole fragments seen. */
  inits: number;
  fragments: number;
  /** Media time reached, seconds (end of the last whole fragment). */
  seconds: number;
  finished: boolean;
  destroyed: boolean;
  /** A parse error, e.g. a truncated box after a crash. */
  parseError: string | null;
}

export interface RecordedRun {
  epochMs: number;
  renditions: Map<string, RecordedRendition>;
  /** Every writable taken has finished or been destroyed. */
  over: () => boolean;
}

export class RecordingPackager implements LivePackagerLike {
  readonly streamId: string;
  readonly renditions: RenditionSpec[];
  readonly runs: RecordedRun[] = [];
  ended = false;
  closed = false;
  /** startRun() came while the previous run still had open writables (a contract breach). */
  overlapped = false;

  constructor(streamId: string, renditions: RenditionSpec[]) {
    this.streamId = streamId;
    this.renditions = renditions;
  }

  startRun(epochMs: number): LivePackagerRun {
    const last = this.runs.at(-1);
    if (last && !last.over()) this.overlapped = true;
    const renditions = new Map<string, RecordedRendition>();
    const streams: Writable[] = [];
    const run: RecordedRun = {
      epochMs,
      renditions,
      over: () => streams.every((s) => s.writableFinished || s.destroyed),
    };
    this.runs.push(run);
    return {
      writable: (name: string) => {
        if (!this.renditions.some((r) => r.name === name)) throw new RangeError(`no rendition ${name}`);
        if (renditions.has(name)) throw new Error(`writable(${name}) taken twice`);
        const rec: RecordedRendition = {
          bytes: 0,
          inits: 0,
          fragments: 0,
          seconds: 0,
          finished: false,
          destroyed: false,
          parseError: null,
        };
        renditions.set(name, rec);
        const splitter = new Fmp4Splitter();
        const parse = (events: ReturnType<Fmp4Splitter['push']>) => {
          for (const e of events) {
            if (e.type === 'init') rec.inits++;
            else {
              rec.fragments++;
              rec.seconds = (e.decodeTime + e.duration) / e.timescale;
            }
          }
        };
        const w = new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            rec.bytes += chunk.length;
            try {
              if (rec.parseError === null) parse(splitter.push(chunk));
            } catch (e) {
              rec.parseError = String(e);
            }
            cb();
          },
          final: (cb) => {
            try {
              if (rec.parseError === null) parse(splitter.end());
            } catch (e) {
              rec.parseError = String(e);
            }
            rec.finished = true;
            cb();
          },
        });
        w.on('close', () => {
          if (!rec.finished) rec.destroyed = true;
        });
        streams.push(w);
        return w;
      },
    };
  }

  end(): Promise<void> {
    this.ended = true;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export class RecordingPackagers {
  readonly created: RecordingPackager[] = [];
  readonly factory: LivePackagerFactory = (o) => {
    const p = new RecordingPackager(o.streamId, o.renditions);
    this.created.push(p);
    return p;
  };

  latest(streamId: string): RecordingPackager | null {
    return this.created.filter((p) => p.streamId === streamId).at(-1) ?? null;
  }
}

/** Live children of this process whose command line mentions `needle` (ffmpeg runs exec'd by setpriv). */
export function childPids(needle: string, parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[1]) !== parent) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

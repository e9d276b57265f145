import type { Job } from 'bullmq';
import type { Capabilities } from '../core/capabilities.js';
import type { HwaccelSetting } from '../core/config.js';
import { AppError, errorMessage } from '../core/errors.js';
import {
  CANCELLED_REASON,
  type JobProgress,
  type LiveJobData,
  type LiveJobResult,
  type PassthroughState,
} from '../core/jobs.js';
import type { Logger } from '../core/log.js';
import { WHEP_AUDIO_RENDITION, type Preset } from '../core/preset.js';
import { withTimeout } from '../core/redis.js';
import type {
  LivePackagerFactory,
  LivePackagerLike,
  LivePackagerRun,
  RenditionSpec,
} from '../packager/index.js';
import { buildFfmpegArgs, LIVE_PIPE_INPUT, WHEP_OPUS_KBPS } from './ffmpeg/args.js';
import { buildPassthroughArgs } from './ffmpeg/args-passthrough.js';
import { passthroughPlanView, passthroughRenditions } from './passthrough-plan.js';
import { chooseJobEncoder, ladderRenditions } from './ladder.js';
import { degrade, LagMonitor, maxLevel, type LagMonitorOptions } from './adaptation.js';
import { streamCores } from './live-capacity.js';
import { keepFrameRates, planLadder, plannedPreset, planView, type LadderPlan } from './ladder-plan.js';
import { RestartPolicy, type RestartPolicyOptions } from './live-restart.js';
import { runLive, type LiveRunOutcome } from './live-run.js';
import { requestRelay, RelayUnavailableError, type RelayAnswer, type RelayBodyInfo } from './relay-client.js';

export interface LiveTiming {
  /** Relay connection silent this long (before headers or mid-body) counts as lost, ms. @defaultValue 15000 */
  relayIdleMs: number;
  /**
   * After a body ended, a 404 is asked again once this much later before the stream
   * counts as ended: a takeover may end the old session a moment before the new one is
   * current. @defaultValue 1000
   */
  endGraceMs: number;
  /** ffmpeg restarts: 200 ms doubling to 3 s; the fifth crash within a minute fails the job. */
  crashes: RestartPolicyOptions;
  /** Relay unreachable or broken: same backoff; twenty failures within a minute fail the job. */
  relayFailures: RestartPolicyOptions;
  /** A run that lasted this long resets the crash backoff to its first step, ms. @defaultValue 30000 */
  healthyRunMs: number;
  /** When a run counts as falling behind real time (adaptation.ts). */
  lag: LagMonitorOptions;
}

export const DEFAULT_LIVE_TIMING: LiveTiming = {
  relayIdleMs: 15_000,
  endGraceMs: 1000,
  crashes: { baseDelayMs: 200, maxDelayMs: 3000, maxFailures: 5, windowMs: 60_000 },
  relayFailures: { baseDelayMs: 200, maxDelayMs: 3000, maxFailures: 20, windowMs: 60_000 },
  healthyRunMs: 30_000,
  lag: {},
};

export interface LiveJobDeps {
  ffmpegPath: string;
  hwaccel: HwaccelSetting;
  capabilities: Capabilities;
  packagers: LivePackagerFactory;
  log: Logger;
  timing?: Partial<LiveTiming>;
  /**
   * The job's data as stored now: read at each run, so a re-publish with another
   * `?preset=` (which the API writes into the running job) takes effect at its session.
   */
  refresh?: () => Promise<LiveJobData | null>;
  /** The stream's estimated cost in cores, whenever its plan changes (the worker's capacity). */
  onCost?: (cores: number) => void;
}

const PROGRESS_EVERY_MS = 1000;

/**
 * A live stream through the ladder for as long as it is live: read the relay, one ffmpeg
 * per relay body (per publish session), its fMP4 outputs into one packager run each.
 *
 * - The body ends (takeover, the publisher left): ask again; 200 starts the next run
 *   (the packager marks the discontinuity), 404 twice ends the packager and the job.
 * - ffmpeg dies: reconnect (the relay starts again at a key frame) after a backoff;
 *   five crashes within a minute fail the job with the last ffmpeg error.
 * - `signal` aborts (cancel, worker shutdown): ffmpeg is killed and the relay request
 *   closed; on cancel the playlists are ended too, on shutdown they are left for the
 *   worker that takes the job over.
 */
export async function runLiveJob(
  job: Job<LiveJobData, LiveJobResult>,
  signal: AbortSignal,
  deps: LiveJobDeps,
): Promise<LiveJobResult> {
  const timing = { ...DEFAULT_LIVE_TIMING, ...deps.timing };
  const { streamId, relay } = job.data;
  let data = job.data;
  let preset = data.preset;
  const log = deps.log;
  const choice = chooseJobEncoder(preset, deps);
  checkRelayUrl(relay.url);

  const crashes = new RestartPolicy(timing.crashes);
  const relayFailures = new RestartPolicy(timing.relayFailures);
  let packager: LivePackagerLike | null = null;
  let packagerHasAudio = false;
  /** The plan of the last run: a session of another shape re-plans the ladder. */
  let planKey = '';
  let plan: LadderPlan | null = null;
  /** Each rung's frame rate as first planned: kept for the job's life (see keepFrameRates). */
  let frameRates: ReadonlyMap<string, number> | null = null;
  /** How far the transcode was made lighter because it fell behind (adaptation.ts). */
  let level = 0;
  let runs = 0;
  let doneMs = 0;
  let notFound = 0;
  /**
   * A `passthrough` preset whose layers the relay refused: the session it refused (its
   * runs transcode the top layer; a new session is tried again) and why.
   */
  let refused: { sessionId: string | null; reason: string } | null = null;
  let renditionNames: string[] = [];

  try {
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      let answer: RelayAnswer;
      // Passthrough is asked for unless this session's layers were refused already.
      const askLayers = preset.passthrough === true && refused === null;
      try {
        answer = await requestRelay(relay.url, relay.token, {
          signal,
          idleTimeoutMs: timing.relayIdleMs,
          layers: askLayers,
        });
      } catch (e) {
        if (!(e instanceof RelayUnavailableError)) throw e;
        await backoff(relayFailures, e, 'unavailable', 'relay unreachable', signal, log);
        continue;
      }
      relayFailures.succeed();
      if (answer.status === 'refused') {
        log.warn(
          { reason: answer.reason },
          'passthrough: the layers cannot be passed through; transcoding the top layer',
        );
        refused = { sessionId: null, reason: answer.reason };
        data = { ...data, passthrough: passthroughState(false, answer.reason) };
        await withTimeout(job.updateData(data), 2000, 'live job update').catch(() => undefined);
        continue;
      }
      if (answer.status === 'ended') {
        if (++notFound < 2) {
          await sleep(timing.endGraceMs, signal);
          continue;
        }
        log.info({ runs }, 'stream ended: closing the playlists');
        packager ??= deps.packagers({ ...packagerOptions(preset, streamId, true), log });
        await packager.end();
        break;
      }
      notFound = 0;
      const { info, body } = answer;
      if (refused !== null) {
        if (refused.sessionId === null) refused.sessionId = info.sessionId;
        else if (refused.sessionId !== info.sessionId && preset.passthrough === true) {
          // A new session (a takeover): its layers may well be aligned. Ask again.
          body.destroy();
          refused = null;
          continue;
        }
      }
      const passing = askLayers && info.layers !== null;
      const fresh = await deps.refresh?.().catch(() => null);
      if (fresh && fresh.presetId !== data.presetId) {
        log.info(
          { from: data.presetId, to: fresh.presetId },
          'the stream was published with another preset: switching',
        );
        preset = fresh.preset;
        level = 0;
      }
      if (fresh) data = fresh;
      let args: string[];
      let outputs: string[];
      let run: LivePackagerRun;
      try {
        if (info.video === null) {
          throw new AppError('validation_failed', `live stream ${streamId} has no video track to transcode`);
        }
        const next = keepFrameRates(planFor(preset, info), frameRates);
        if (!passing) frameRates ??= new Map(next.rungs.map((r) => [r.name, r.fps]));
        plan = next;
        const effective = degrade(plannedPreset(preset, next), level, choice.family).preset;
        const sessionAudio = info.audio !== null;
        // Passthrough: the layers are the renditions; otherwise the ladder planned for the source.
        const planned = passing
          ? passthroughRenditions(info.layers!, preset, sessionAudio)
          : ladderRenditions(effective, sessionAudio);
        const video = planned.filter((r) => r.kind === 'video');
        const audioSpecs = [ladderRenditions(effective, true).at(-1)!, ...whepAudioRenditions(effective)];
        if (packager === null) packagerHasAudio = sessionAudio;
        // What the packager has (audio stays listed through a session without it) and what this run writes.
        const all = packagerHasAudio ? [...video, ...audioSpecs] : video;
        packager ??= deps.packagers({
          ...packagerOptions(effective, streamId, packagerHasAudio),
          renditions: all,
          log,
        });
        const hasAudio = packagerHasAudio && sessionAudio;
        if (packagerHasAudio && !hasAudio) log.warn('this session has no audio: the audio rendition pauses');
        const renditions = hasAudio ? [...video, ...audioSpecs] : video;
        outputs = renditions.map((r) => r.name);
        const io = {
          input: LIVE_PIPE_INPUT,
          live: { format: 'matroska' as const },
          hasAudio,
          firstOutputFd: 3,
          whepAudio: true,
        };
        args = passing
          ? buildPassthroughArgs(video.length, preset, io)
          : buildFfmpegArgs(effective, choice.family, io);
        // The planned ladder (not the adapted one: adapting never re-plans), or the layers.
        const key = passing
          ? JSON.stringify(['layers', ...video.map((r) => [r.name, r.width, r.height, r.fps])])
          : JSON.stringify(next.rungs.map((r) => [r.name, r.width, r.height, r.fps]));
        const replanned = planKey !== '' && key !== planKey;
        run = packager.startRun(info.epochMs, replanned ? all : undefined);
        renditionNames = all.filter((r) => r.name !== WHEP_AUDIO_RENDITION).map((r) => r.name);
        if (passing && data.passthrough?.active !== true) {
          log.info(
            { layers: info.layers!.map((l) => `${l.rid ?? '-'} ${l.width}x${l.height}`) },
            'passthrough: the layers are the renditions, copied without an encode',
          );
          data = { ...data, passthrough: passthroughState(true) };
          refused = null;
          void job.updateData(data).catch(() => undefined);
        }
        if (key !== planKey) {
          planKey = key;
          if (passing) {
            data = { ...data, plan: passthroughPlanView(planned) };
          } else {
            log.info(
              {
                ladder: next.rungs.map((r) => `${r.name} ${r.width}x${r.height}@${r.fps}`),
                dropped: next.dropped,
              },
              replanned
                ? 'the new session has another shape: ladder re-planned'
                : 'ladder planned for the source',
            );
            data = { ...data, plan: planView(next) };
          }
          void job.updateData(data).catch(() => undefined);
        }
        // A copy costs next to nothing next to an encode: the audio's share of a core.
        deps.onCost?.(passing ? PASSTHROUGH_CORES : streamCores(effective, choice.family));
      } catch (e) {
        body.destroy();
        throw e;
      }

      runs++;
      const runLog = log.child({ run: runs, sessionId: info.sessionId });
      runLog.info({ epochMs: info.epochMs, video: info.video, audio: info.audio }, 'live run started');
      const startedAt = Date.now();
      let runOutMs = 0;
      let lastReport = 0;
      const lag = new LagMonitor(timing.lag);
      const tooSlow = new AbortController();
      // A copy has nothing to make lighter.
      const canAdapt = !passing && level < maxLevel(plannedPreset(preset, plan!), choice.family);
      const outcome: LiveRunOutcome = await runLive({
        ffmpegPath: deps.ffmpegPath,
        args,
        outputs,
        body,
        run,
        signal,
        tooSlow: tooSlow.signal,
        log: runLog,
        onProgress: (p) => {
          runOutMs = p.outTimeMs;
          const now = Date.now();
          if (lag.push(now, p.outTimeMs, info.epochMs) === 'slow' && canAdapt && !tooSlow.signal.aborted) {
            tooSlow.abort();
          }
          if (now - lastReport < PROGRESS_EVERY_MS) return;
          lastReport = now;
          const progress: JobProgress = {
            percent: 0,
            fps: p.fps,
            speed: p.speed,
            outTimeMs: doneMs + p.outTimeMs,
          };
          void job.updateProgress(progress as unknown as object).catch(() => undefined);
        },
      });
      doneMs += runOutMs;
      runLog.info({ outcome: outcome.type, outTimeMs: runOutMs }, 'live run ended');
      if (outcome.type === 'input_ended') {
        crashes.succeed();
      } else if (outcome.type === 'too_slow') {
        level++;
        const d = degrade(plannedPreset(preset, plan!), level, choice.family);
        const reason = `the transcode fell ${(lag.lagMs / 1000).toFixed(1)} s behind real time`;
        runLog.warn({ level, changes: d.changes, lagMs: Math.round(lag.lagMs) }, `${reason}: adapting`);
        const degraded = { level, changes: d.changes, reason, since: new Date().toISOString() };
        data = { ...data, degraded };
        await withTimeout(job.updateData(data), 2000, 'live job update').catch(() => undefined);
      } else if (outcome.type === 'relay_lost') {
        await backoff(relayFailures, outcome.error, 'unavailable', 'relay connection lost', signal, runLog);
      } else {
        if (Date.now() - startedAt >= timing.healthyRunMs) crashes.succeed();
        await backoff(crashes, outcome.error, 'ffmpeg_failed', 'ffmpeg crashed', signal, runLog);
      }
    }
  } catch (e) {
    // Cancelled: no more media will come, so the playlists end. Shutdown (or a lost
    // lock): the worker that takes the job over continues them.
    if (packager !== null && signal.aborted && signal.reason === CANCELLED_REASON) {
      await packager
        .end()
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'packager end failed'));
    }
    throw e;
  } finally {
    await packager
      ?.close()
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'packager close failed'));
  }

  return {
    family: choice.family,
    hwFallback: choice.fallback,
    durationMs: doneMs,
    renditions:
      renditionNames.length > 0
        ? renditionNames
        : ladderRenditions(plan ? plannedPreset(preset, plan) : preset, packagerHasAudio).map((r) => r.name),
    runs,
  };
}

/** The WHEP viewers' Opus rendition (see WHEP_AUDIO_RENDITION), when the HLS audio is not Opus already. */
function whepAudioRenditions(preset: Preset): RenditionSpec[] {
  if (preset.audio.codec === 'opus') return [];
  return [{ name: WHEP_AUDIO_RENDITION, kind: 'audio', nominalBitrateKbps: WHEP_OPUS_KBPS }];
}

/** What a passthrough run costs a worker, in cores: the audio encode and the copying. */
const PASSTHROUGH_CORES = 0.1;

function passthroughState(active: boolean, reason?: string): PassthroughState {
  return {
    active,
    ...(reason !== undefined ? { reason } : {}),
    since: new Date().toISOString(),
  };
}

/** The ladder for a relay body: fitted to the source's size and frame rate when the relay knows them. */
function planFor(preset: Preset, info: RelayBodyInfo): LadderPlan {
  if (info.width !== null && info.height !== null) {
    return planLadder(preset, { width: info.width, height: info.height, fps: info.fps });
  }
  return planLadder(preset, { width: 3840, height: 2160, fps: info.fps });
}

function packagerOptions(preset: Preset, streamId: string, audio: boolean) {
  return {
    streamId,
    renditions: ladderRenditions(preset, audio),
    partSeconds: preset.partSeconds,
    segmentSeconds: preset.segmentSeconds,
    firstSegmentSeconds: preset.gopSeconds,
    // Copied layers keep the publisher's GOP; a ladder's parts follow the encoder's.
    ...(preset.passthrough === true ? {} : { gopSeconds: preset.gopSeconds }),
  };
}

function checkRelayUrl(url: string): void {
  let protocol = '';
  try {
    protocol = new URL(url).protocol;
  } catch {
    // reported below
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new AppError('validation_failed', `relay URL must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
}

async function backoff(
  policy: RestartPolicy,
  error: Error,
  code: 'ffmpeg_failed' | 'unavailable',
  what: string,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const delay = policy.fail(Date.now());
  if (delay === null) {
    throw new AppError(
      code,
      `${what} ${policy.recentFailures} times within a minute; last: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  log.warn(
    { err: errorMessage(error), retryInMs: delay, recent: policy.recentFailures },
    `${what}: retrying`,
  );
  await sleep(delay, signal);
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AppError('cancelled', String(signal.reason));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

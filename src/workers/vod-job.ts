import { pipeline } from 'node:stream/promises';
import type { Job } from 'bullmq';
import type { Capabilities } from '../core/capabilities.js';
import type { HwaccelSetting } from '../core/config.js';
import { AppError, errorMessage } from '../core/errors.js';
import type { JobProgress, VodJobData, VodJobResult } from '../core/jobs.js';
import type { Logger } from '../core/log.js';
import { VodPackager, type Storage } from '../packager/index.js';
import { buildFfmpegArgs } from './ffmpeg/args.js';
import { FfmpegProcess } from './ffmpeg/process.js';
import { probeInput } from './ffmpeg/probe.js';
import { chooseJobEncoder, ladderRenditions } from './ladder.js';
import { planLadder, plannedPreset, planView } from './ladder-plan.js';
import { storeFileThumbnails } from './thumbnails.js';
import { deleteUpload } from './uploads.js';

export interface VodJobDeps {
  ffmpegPath: string;
  hwaccel: HwaccelSetting;
  capabilities: Capabilities;
  storage: Storage;
  log: Logger;
}

const PROGRESS_EVERY_MS = 1000;

/** One file through the ladder: probe, one ffmpeg, fMP4 pipes into the VOD packager. */
export async function runVodJob(
  job: Job<VodJobData, VodJobResult>,
  signal: AbortSignal,
  deps: VodJobDeps,
): Promise<VodJobResult> {
  const { input, assetId } = job.data;
  const choice = chooseJobEncoder(job.data.preset, deps);

  const media = await probeInput(deps.ffmpegPath, input.path);
  if (!media.hasVideo) throw new AppError('validation_failed', `${input.label} has no video stream`);
  // The ladder fitted to the file: its display shape (pixel aspect, rotation) and frame rate.
  const plan = planLadder(job.data.preset, {
    width: media.width ?? 3840,
    height: media.height ?? 2160,
    sar: media.sar ?? null,
    rotation: media.rotation ?? null,
    fps: media.fps ?? null,
  });
  const preset = plannedPreset(job.data.preset, plan);
  await job
    .updateData({
      ...job.data,
      plan: planView(plan),
    })
    .catch(() => undefined);

  const renditions = ladderRenditions(preset, media.hasAudio);
  const args = buildFfmpegArgs(preset, choice.family, {
    input: input.path,
    live: null,
    hasAudio: media.hasAudio,
    firstOutputFd: 3,
  });

  // A retried job starts clean: nothing half-written from an earlier attempt stays listed.
  await deps.storage.deleteAsset(assetId);
  const packager = new VodPackager({
    storage: deps.storage,
    assetId,
    renditions,
    segmentSeconds: preset.segmentSeconds,
    log: deps.log,
  });

  let lastReport = 0;
  const ffmpeg = new FfmpegProcess({
    bin: deps.ffmpegPath,
    args,
    outputCount: renditions.length,
    signal,
    log: deps.log,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastReport < PROGRESS_EVERY_MS && !p.done) return;
      lastReport = now;
      const progress: JobProgress = {
        percent: media.durationMs
          ? Math.min(100, Math.round((p.outTimeMs / media.durationMs) * 1000) / 10)
          : 0,
        fps: p.fps,
        speed: p.speed,
        outTimeMs: p.outTimeMs,
      };
      void job.updateProgress(progress as unknown as object).catch(() => undefined);
    },
  });
  deps.log.info(
    { family: choice.family, rungs: preset.ladder.length, audio: media.hasAudio },
    'transcode started',
  );

  try {
    await Promise.all([
      ffmpeg.wait(),
      ...renditions.map((r, i) => {
        const out = ffmpeg.outputs[i];
        if (!out) throw new AppError('internal', `no ffmpeg output for ${r.name}`);
        return pipeline(out, packager.writable(r.name));
      }),
    ]);
  } catch (e) {
    packager.abort();
    await ffmpeg.close();
    throw e;
  }
  const result = await packager.finish();
  await storeFileThumbnails({
    storage: deps.storage,
    ffmpegPath: deps.ffmpegPath,
    assetId,
    durationMs: result.durationMs,
    gopSeconds: preset.gopSeconds,
    signal,
    log: deps.log,
  }).catch((e: unknown) => {
    // The file plays without pictures; a cancelled job stays cancelled.
    if (signal.aborted) throw e;
    deps.log.warn({ err: errorMessage(e) }, 'thumbnails failed: the file plays without them');
  });
  await deleteUpload(input);
  await job.updateProgress({ percent: 100, fps: null, speed: null, outTimeMs: result.durationMs } as object);
  deps.log.info({ durationMs: result.durationMs }, 'transcode complete');
  return {
    family: choice.family,
    hwFallback: choice.fallback,
    durationMs: result.durationMs,
    renditions: renditions.map((r) => r.name),
  };
}

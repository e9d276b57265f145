import type { Capabilities } from '../core/capabilities.js';
import type { HwaccelSetting } from '../core/config.js';
import type { JobRun } from '../core/jobs.js';
import type { Logger } from '../core/log.js';
import { rungMaxrateKbps, rungName, type Preset } from '../core/preset.js';
import type { RenditionSpec } from '../packager/index.js';
import { chooseEncoder, type EncoderChoice } from './ffmpeg/encoder-choice.js';

/**
 * The renditions a preset's ladder packages, in ffmpeg's output order: one video
 * rendition per rung, then `audio` when the input has audio.
 */
export function ladderRenditions(preset: Preset, audio: boolean): RenditionSpec[] {
  const renditions: RenditionSpec[] = preset.ladder.map((r) => ({
    name: rungName(r),
    kind: 'video' as const,
    width: r.width,
    height: r.height,
    fps: r.fps,
    nominalBitrateKbps: r.videoBitrateKbps,
    peakBitrateKbps: rungMaxrateKbps(r),
  }));
  if (audio) renditions.push({ name: 'audio', kind: 'audio', nominalBitrateKbps: preset.audio.bitrateKbps });
  return renditions;
}

/** chooseEncoder on this worker, warning in the job's log when a preferred hardware encoder falls back to x264. */
export function chooseJobEncoder(
  preset: Preset,
  deps: { capabilities: Capabilities; hwaccel: HwaccelSetting; log: Logger },
): EncoderChoice {
  const choice = chooseEncoder(preset, deps.capabilities.families, deps.hwaccel);
  if (choice.fallback)
    deps.log.warn({ reason: choice.reason }, 'hardware preferred but unavailable: using x264');
  return choice;
}

/**
 * The encoder this worker will choose for a job, as the job's `run` record (so GET
 * /api/jobs/{id} shows a hardware fallback while the job runs). Null when the choice
 * fails: the job itself then fails with that error.
 */
export function jobRunRecord(
  preset: Preset,
  deps: { capabilities: Capabilities; hwaccel: HwaccelSetting; workerId: string },
): JobRun | null {
  try {
    const choice = chooseEncoder(preset, deps.capabilities.families, deps.hwaccel);
    return {
      workerId: deps.workerId,
      family: choice.family,
      hwFallback: choice.fallback,
      ...(choice.reason !== undefined ? { reason: choice.reason } : {}),
      startedAt: new Date().toISOString(),
    };
  } catch {
    return null;
  }
}

import type { LadderPlanView } from '../core/jobs.js';
import type { Preset } from '../core/preset.js';
import type { RenditionSpec } from '../packager/index.js';
import type { RelayLayerInfo } from './relay-client.js';

/**
 * BANDWIDTH a copied layer declares from its first playlist: its bit rate as ingest
 * measured it (a few seconds' average) with room for the peaks a publisher's rate control
 * allows; the packager raises it when a measured segment peak is higher.
 */
const PEAK_OVER_AVERAGE = 1.5;
/** A layer whose bit rate ingest has not measured yet: declared as this, then measured. */
const UNKNOWN_KBPS = 1000;

/**
 * The renditions of a passthrough run, in ffmpeg's output order: one per video track of
 * the relay's body (largest first), named by its short side as a ladder rung is (`720p`;
 * a second layer of the same size gets `720p-2`), then `audio` when the session has it.
 * Names come from sizes, never from the publisher's rids.
 */
export function passthroughRenditions(
  layers: readonly RelayLayerInfo[],
  preset: Preset,
  audio: boolean,
): RenditionSpec[] {
  const used = new Set<string>();
  const out: RenditionSpec[] = layers.map((l) => {
    const base = `${Math.min(l.width, l.height)}p`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    const kbps = l.bitrateKbps ?? UNKNOWN_KBPS;
    const spec: RenditionSpec = {
      name,
      kind: 'video',
      width: l.width,
      height: l.height,
      nominalBitrateKbps: kbps,
      peakBitrateKbps: Math.round(kbps * PEAK_OVER_AVERAGE),
    };
    if (l.fps !== null) spec.fps = l.fps;
    return spec;
  });
  if (audio) out.push({ name: 'audio', kind: 'audio', nominalBitrateKbps: preset.audio.bitrateKbps });
  return out;
}

/** The job's `plan` for a passthrough run: the layers as rungs, nothing left out. */
export function passthroughPlanView(renditions: readonly RenditionSpec[]): LadderPlanView {
  return {
    rungs: renditions
      .filter((r) => r.kind === 'video')
      .map((r) => ({
        name: r.name,
        width: r.width ?? 0,
        height: r.height ?? 0,
        fps: r.fps ?? 0,
        bitrateKbps: r.nominalBitrateKbps,
      })),
    dropped: [],
  };
}

import { WHEP_AUDIO_RENDITION } from '../core/preset.js';
import { RENDITION_NAME } from './names.js';

export { RENDITION_NAME };
/** What the worker tells the packager about each rendition of a ladder. */
export interface RenditionSpec {
  /** File-name stem: `720p`, `audio` (the preset's rung name). */
  name: string;
  kind: 'video' | 'audio';
  width?: number;
  height?: number;
  /** Frames per second, for FRAME-RATE; measured from the media when absent. */
  fps?: number;
  /** Encoder target, kb/s; VOD measures real bit rates, live publishing starts from this. */
  nominalBitrateKbps: number;
  /**
   * The most the encoder is configured to send, kb/s (video: its VBV maxrate; audio: its
   * bit rate). A live variant declares at least this as BANDWIDTH from its first playlist.
   * @defaultValue nominalBitrateKbps
   */
  peakBitrateKbps?: number;
}

/** Throws a RangeError naming the first problem with a ladder's rendition list. */
export function checkRenditions(renditions: readonly RenditionSpec[]): void {
  if (renditions.length === 0) throw new RangeError('at least one rendition is needed');
  const seen = new Set<string>();
  let audio = 0;
  for (const r of renditions) {
    if (!RENDITION_NAME.test(r.name))
      throw new RangeError(`rendition name ${JSON.stringify(r.name)} is not allowed`);
    if (r.name === 'index') throw new RangeError('rendition name "index" would collide with index.m3u8');
    if (seen.has(r.name)) throw new RangeError(`rendition ${r.name} is listed twice`);
    seen.add(r.name);
    if (r.kind === 'audio' && r.name !== WHEP_AUDIO_RENDITION) audio++;
  }
  if (audio > 1) throw new RangeError('at most one audio rendition');
}

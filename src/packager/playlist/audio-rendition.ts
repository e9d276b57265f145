import { playlistName } from '../names.js';
import type { TrackInfo } from '../mp4/init.js';
import type { RenditionSpec } from '../rendition.js';
import type { Rendition } from './multivariant.js';

/** The EXT-X-MEDIA GROUP-ID of the ladder's audio rendition, live and VOD. */
export const AUDIO_GROUP = 'audio';

export interface MultivariantOptions {
  /** EXT-X-MEDIA LANGUAGE (RFC 5646). @defaultValue 'und' */
  audioLanguage?: string;
  /** EXT-X-MEDIA NAME. @defaultValue 'Audio' */
  audioName?: string;
}

/**
 * The EXT-X-MEDIA entry of the audio rendition, in group AUDIO_GROUP, that every video
 * variant of a Multivariant Playlist (VOD or live) plays with.
 */
export function audioRendition(
  audio: { spec: RenditionSpec; track: TrackInfo },
  options: MultivariantOptions = {},
): Rendition {
  return {
    type: 'AUDIO',
    groupId: AUDIO_GROUP,
    name: options.audioName ?? 'Audio',
    language: options.audioLanguage ?? 'und',
    default: true,
    autoselect: true,
    // RFC 8216bis 4.4.6.1 (CHANNELS): "All audio EXT-X-MEDIA tags SHOULD have a CHANNELS attribute."
    channels: String(audio.track.channels ?? 2),
    uri: playlistName(audio.spec.name),
  };
}

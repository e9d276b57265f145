/**
 * The stored names of an asset's pictures, beside its playlists under `/hls/{id}/`:
 * each passes storage/keys.ts OBJECT_NAME (test/unit/thumbnails-sprite.test.ts checks).
 * A file gets all three when its job packages it; a live stream's poster is made on
 * demand by the API and never stored (src/api/posters.ts).
 */
export const POSTER_NAME = 'poster.jpg';
export const SPRITE_NAME = 'sprite.jpg';
/** WebVTT cues whose text is `sprite.jpg#xywh=x,y,w,h`: the thumbnail track players use for seeking previews. */
export const THUMBNAILS_VTT_NAME = 'thumbnails.vtt';

export const JPEG_TYPE = 'image/jpeg';
export const VTT_TYPE = 'text/vtt';

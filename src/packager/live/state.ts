import { OBJECT_NAME, RENDITION_NAME } from '../names.js';
import { z } from 'zod';

/**
 * One live rendition's playlist as data: what the packager publishes on the bus after
 * every part, and all the origin needs to render any form of the Media Playlist (full,
 * delta, with fresh rendition reports) without touching storage. Plain JSON: no Dates,
 * no classes. Times are seconds except `pdtMs` (epoch milliseconds).
 */

export interface LivePart {
  uri: string;
  duration: number;
  /** Starts with a sync sample: EXT-X-PART INDEPENDENT=YES. */
  independent?: boolean;
}

/** A complete Media Segment in the playlist window. */
export interface LiveSegment {
  msn: number;
  uri: string;
  /** EXTINF. */
  duration: number;
  /** Wall clock of its first sample (EXT-X-PROGRAM-DATE-TIME), epoch ms. */
  pdtMs: number;
  /** The init segment (EXT-X-MAP URI) its media needs. */
  map: string;
  /** First segment of a run that follows other media: EXT-X-DISCONTINUITY. */
  discontinuity?: boolean;
  /** A placeholder that keeps Media Sequence Numbers aligned across renditions: EXT-X-GAP, no file. */
  gap?: boolean;
  /** How many parts it was cut into (its part files are `{uri stem}.{0..partCount-1}.m4s`). */
  partCount: number;
  /** Its parts, while they are recent enough to be listed (RFC 8216bis 6.2.2: parts older than three target durations may go). */
  parts?: LivePart[];
  byteLength: number;
}

/** The segment being written: its parts so far (listed after the last EXTINF). */
export interface LiveOpenSegment {
  msn: number;
  pdtMs: number;
  map: string;
  discontinuity?: boolean;
  parts: LivePart[];
  byteLength: number;
  /** The segment will most likely end before the next part: the preload hint names the next segment's first part. */
  endsAfterThisPart?: boolean;
}

export interface LiveRenditionState {
  rendition: string;
  /** EXT-X-TARGETDURATION, whole seconds; fixed for the stream's life. */
  targetDuration: number;
  /** EXT-X-PART-INF PART-TARGET, seconds. */
  partTarget: number;
  /** EXT-X-MEDIA-SEQUENCE: the msn of segments[0] (or of the next segment while there is none). */
  mediaSequence: number;
  /** EXT-X-DISCONTINUITY-SEQUENCE. */
  discontinuitySequence: number;
  segments: LiveSegment[];
  open: LiveOpenSegment | null;
  /** msn the next segment will have (the preload hint's while no segment is open). */
  nextMsn: number;
  /** EXT-X-ENDLIST. */
  ended: boolean;
  /** Grows with every change, so a consumer can drop an older copy. */
  version: number;
  /** When this state was made, epoch ms (Last-Modified). */
  updatedMs: number;
}

const name = z.string().regex(OBJECT_NAME).max(81);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const seconds = z.number().nonnegative().max(3600);
const epochMs = z.number().nonnegative().max(8.64e15);

const partSchema = z.object({ uri: name, duration: seconds, independent: z.boolean().optional() });

/** Validates states that come from another process (Redis): every URI is a flat object name. */
export const liveRenditionStateSchema = z.object({
  rendition: z.string().regex(RENDITION_NAME),
  targetDuration: z.number().int().min(1).max(60),
  partTarget: z.number().positive().max(60),
  mediaSequence: count,
  discontinuitySequence: count,
  segments: z
    .array(
      z.object({
        msn: count,
        uri: name,
        duration: seconds,
        pdtMs: epochMs,
        map: name,
        discontinuity: z.boolean().optional(),
        gap: z.boolean().optional(),
        partCount: count,
        parts: z.array(partSchema).max(10_000).optional(),
        byteLength: count,
      }),
    )
    .max(10_000),
  open: z
    .object({
      msn: count,
      pdtMs: epochMs,
      map: name,
      discontinuity: z.boolean().optional(),
      parts: z.array(partSchema).max(10_000),
      byteLength: count,
      endsAfterThisPart: z.boolean().optional(),
    })
    .nullable(),
  nextMsn: count,
  ended: z.boolean(),
  version: count,
  updatedMs: epochMs,
});

import { readFileSync } from 'node:fs';
import { AppError } from '../../src/core/errors.js';
import { negotiateOffer } from '../../src/ingest/sdp/offer.js';

const FILES = {
  /** libdatachannel shaped as OBS 30.2+ sends it: Opus + H.264 42e01f, no candidates. */
  obs: 'offer-libdatachannel-obs30.2-style.sdp',
  /** Chromium 156 camera + microphone: many codecs, RTX, RED, loopback candidates. */
  chromium: 'offer-chromium-156.sdp',
  /** libdatachannel 0.24 as OBS's WHIP output makes it for H.265 (test/helpers/datachannel-publisher.ts). */
  obsH265: 'offer-libdatachannel-h265.sdp',
  /** Chromium 156 with AV1 first (setCodecPreferences). */
  chromiumAv1: 'offer-chromium-156-av1.sdp',
  /** Chromium 156 sending three simulcast layers (rids q, h, f) of VP8. */
  chromiumSimulcast: 'offer-chromium-156-simulcast.sdp',
} as const;

/** A real WHIP offer from test/fixtures/sdp (CRLF line endings, as on the wire). */
export function sdpFixture(name: keyof typeof FILES): string {
  return readFileSync(new URL(`../../../test/fixtures/sdp/${FILES[name]}`, import.meta.url), 'utf8');
}

/** The error negotiateOffer throws for an offer, with its HTTP status; throws if the offer is taken. */
export function refusal(offer: string): { status: number; message: string } {
  try {
    negotiateOffer(offer);
  } catch (e) {
    if (e instanceof AppError) return { status: e.status, message: e.message };
    throw e;
  }
  throw new Error('the offer was taken');
}

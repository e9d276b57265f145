import type { EncoderFamily } from './preset.js';

/** What the ffmpeg probe found on this machine (GET /api/capabilities). */
export interface Capabilities {
  ffmpegPath: string;
  /** e.g. "5.1.9-0+deb12u1"; null when ffmpeg could not be run. */
  ffmpegVersion: string | null;
  encoders: string[];
  hwaccels: string[];
  filters: string[];
  /** Families whose one-frame test encode succeeded (x264 whenever libx264 is present). */
  families: EncoderFamily[];
  /** Why each family that did not make it failed, for the operator. */
  rejected: Partial<Record<EncoderFamily, string>>;
  probedAt: string;
}

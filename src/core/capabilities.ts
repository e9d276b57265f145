import { z } from 'zod';
import { EncoderFamilySchema } from './preset.js';

/**
 * What the ffmpeg probe found on this machine (GET /api/capabilities). The type is
 * inferred from the schema, which GET /api/openapi.json is generated from.
 */
export const CapabilitiesSchema = z.object({
  ffmpegPath: z.string(),
  ffmpegVersion: z.string().nullable().describe('e.g. `5.1.9-0+deb12u1`; null when ffmpeg could not be run.'),
  encoders: z.array(z.string()),
  hwaccels: z.array(z.string()),
  filters: z.array(z.string()),
  families: z
    .array(EncoderFamilySchema)
    .describe(
      'Encoder families whose one-frame test encode succeeded on this machine (x264 whenever libx264 is present).',
    ),
  rejected: z
    .partialRecord(EncoderFamilySchema, z.string())
    .describe('Why each family that did not make it failed.'),
  probedAt: z.iso.datetime(),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

import { AppError } from '../../core/errors.js';
import { unprocessable } from '../errors.js';
import { attributeValues, type SdpMedia } from './sdp-text.js';

/** RFC 8852: the RTP stream id header extension, which carries each packet's rid. */
export const RID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id';
/** RFC 8852: the rid of the stream a retransmission (RTX) packet repairs. */
export const REPAIRED_RID_EXTENSION = 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id';

/** Layers ingest takes from one publisher: OBS sends 1 to 4, browsers up to 3. */
export const MAX_LAYERS = 4;

/** RFC 8851 rid-id (alphanumerics, `-`, `_`); at most 16 characters, the one-byte header extension's most. */
export const RID = /^[A-Za-z0-9_-]{1,16}$/;

const bad = (message: string) => new AppError('bad_request', message);

/**
 * The simulcast layers a video m-line sends (RFC 8853 `a=simulcast:send`, RFC 8851
 * `a=rid:<id> send`), in the order the simulcast line lists them; [] without simulcast.
 * Paused layers (`~rid`) count: the sender may start them later. Alternatives (`a,b`)
 * are each a layer. Throws `bad_request` for malformed lines and 422 for what ingest
 * does not take (receive simulcast, more than MAX_LAYERS, no rid header extension).
 */
export function simulcastLayers(media: SdpMedia): string[] {
  const lines = attributeValues(media.lines, 'simulcast');
  if (lines.length === 0) return [];
  if (lines.length > 1) throw bad('more than one a=simulcast line');
  const m = /^send ([^ ]+)$/.exec(lines[0]!.trim());
  if (!m) {
    throw unprocessable(
      `a=simulcast:${lines[0]!.slice(0, 60)} is not supported: a WHIP publisher sends simulcast (a=simulcast:send <rids>)`,
    );
  }
  const rids = m[1]!.split(/[;,]/).map((r) => r.replace(/^~/, ''));
  for (const rid of rids)
    if (!RID.test(rid)) throw bad(`simulcast rid "${rid.slice(0, 20)}" is not a valid rid`);
  if (new Set(rids).size !== rids.length) throw bad('a rid appears twice in a=simulcast');
  if (rids.length > MAX_LAYERS) {
    throw unprocessable(`the offer sends ${rids.length} simulcast layers; at most ${MAX_LAYERS} are taken`);
  }
  const sending = new Set<string>();
  for (const v of attributeValues(media.lines, 'rid')) {
    const r = /^([^ ]+) (send|recv)(?: .*)?$/.exec(v);
    if (!r) throw bad(`malformed a=rid:${v.slice(0, 40)}`);
    if (r[2] === 'send') sending.add(r[1]!);
  }
  const missing = rids.filter((r) => !sending.has(r));
  if (missing.length > 0)
    throw bad(`a=simulcast names rids without an a=rid:<rid> send line: ${missing.join(', ')}`);
  const extensions = attributeValues(media.lines, 'extmap').map((e) => e.split(' ')[1]);
  if (!extensions.includes(RID_EXTENSION)) {
    throw unprocessable(
      `simulcast needs the ${RID_EXTENSION} header extension (a=extmap), which identifies each layer`,
    );
  }
  return rids;
}

/**
 * The m-line as werift gets it for a simulcast publish: one `a=rid:<id> send` per layer
 * (restrictions dropped: the answer need not repeat them, RFC 8851 4.3) and one
 * `a=simulcast:send` line, and no a=ssrc lines, so werift routes every packet by its rid
 * (with both, it would make a second track per SSRC for the same packets).
 */
export function simulcastMedia(media: SdpMedia, rids: readonly string[]): SdpMedia {
  const lines = media.lines.filter(
    (l) =>
      !l.startsWith('a=rid:') &&
      !l.startsWith('a=simulcast:') &&
      !l.startsWith('a=ssrc:') &&
      !l.startsWith('a=ssrc-group:'),
  );
  lines.push(...rids.map((r) => `a=rid:${r} send`), `a=simulcast:send ${rids.join(';')}`);
  return { ...media, lines };
}

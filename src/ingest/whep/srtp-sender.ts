import { createCipheriv, hash, type Cipher } from 'node:crypto';
import { ProtectionProfileAes128CmHmacSha1_80, type RTCDtlsTransport } from 'werift';

/** The parts of werift's SRTP context (rtp/src/srtp/context) a sender reads. */
interface SrtpLocalContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtpSessionAuthTag: Buffer;
  getSrtpSsrcState(ssrc: number): { rolloverCounter: number };
  updateRolloverCount(seq: number, state: { rolloverCounter: number }): void;
}

/** Largest payload the fast path takes (a bigger one goes through werift). */
const MAX_PAYLOAD = 2048;
const MAX_BLOCKS = MAX_PAYLOAD / 16;
const TAG = 10;

/** Per SSRC: the AES-CTR counter blocks (RFC 3711 4.1.1) with salt and SSRC folded in. */
class CounterBlocks {
  readonly blocks = Buffer.alloc(MAX_BLOCKS * 16);
  #roc = -1;
  readonly #ssrc: number;
  readonly #salt: Buffer;

  constructor(ssrc: number, salt: Buffer) {
    this.#ssrc = ssrc;
    this.#salt = salt;
    for (let b = 0, o = 0; b < MAX_BLOCKS; b++, o += 16) {
      for (let k = 0; k < 14; k++) this.blocks[o + k] = salt[k] ?? 0;
      this.blocks.writeUInt32BE((this.blocks.readUInt32BE(o + 4) ^ ssrc) >>> 0, o + 4);
      this.blocks[o + 14] = b >> 8;
      this.blocks[o + 15] = b & 0xff;
    }
  }

  /** Sets the packet index (ROC, SEQ) in the first `n` blocks. */
  set(roc: number, seq: number, n: number): void {
    const b = this.blocks;
    if (roc !== this.#roc) {
      this.#roc = roc;
      for (let i = 0, o = 8; i < MAX_BLOCKS; i++, o += 16) {
        b.writeUInt32BE((roc ^ (this.#salt.readUInt32BE(8) >>> 0)) >>> 0, o);
      }
    }
    const hi = (seq >> 8) ^ (this.#salt[12] ?? 0);
    const lo = (seq & 0xff) ^ (this.#salt[13] ?? 0);
    for (let i = 0, o = 12; i < n; i++, o += 16) {
      b[o] = hi;
      b[o + 1] = lo;
    }
  }

  get ssrc(): number {
    return this.#ssrc;
  }
}

/**
 * SRTP protection of a viewer's outgoing RTP (AES_CM_128_HMAC_SHA1_80, RFC 3711), cheaper
 * than werift's: werift creates an AES-CTR cipher and an HMAC object and re-serialises
 * the header for every packet; this keeps one AES-ECB cipher per transport that turns the
 * packet's counter blocks into its key stream, and computes HMAC-SHA1 with two one-shot
 * hashes over pads prepared once. The keys and the rollover counters are werift's own
 * (its SRTP context), so werift's path (RTCP, another profile) stays consistent with it.
 * Output is byte for byte what werift produces (unit-tested against it).
 */
export class FastSrtp {
  readonly #ctx: SrtpLocalContext;
  readonly #ecb: Cipher;
  readonly #counters = new Map<number, CounterBlocks>();
  /** ipad-key, then the authenticated portion (header, payload, ROC). */
  readonly #inner = Buffer.alloc(64 + 12 + 4 + 255 * 4 + MAX_PAYLOAD + 4);
  readonly #outer = Buffer.alloc(64 + 20);

  private constructor(ctx: SrtpLocalContext) {
    this.#ctx = ctx;
    this.#ecb = createCipheriv('aes-128-ecb', ctx.srtpSessionKey, null);
    this.#ecb.setAutoPadding(false);
    const key = ctx.srtpSessionAuthTag;
    for (let i = 0; i < 64; i++) {
      this.#inner[i] = 0x36 ^ (key[i] ?? 0);
      this.#outer[i] = 0x5c ^ (key[i] ?? 0);
    }
  }

  /** A fast path for the transport's SRTP, or null (not started yet, or another profile). */
  static of(transport: RTCDtlsTransport): FastSrtp | null {
    const ctx = (transport.srtp as unknown as { localContext?: SrtpLocalContext } | undefined)?.localContext;
    if (!ctx || ctx.profile !== ProtectionProfileAes128CmHmacSha1_80 || ctx.srtpSessionAuthTag.length > 64) {
      return null;
    }
    return new FastSrtp(ctx);
  }

  /**
   * Protects one packet: `header` is the serialized RTP header (its SSRC and sequence
   * number are read from it), `payload` the clear payload. Returns null when the payload is
   * too large for the fast path.
   */
  protect(header: Buffer, payload: Buffer): Buffer | null {
    const plen = payload.length;
    if (plen > MAX_PAYLOAD || header.length > this.#inner.length - 68 - MAX_PAYLOAD) return null;
    const ssrc = header.readUInt32BE(8);
    const seq = header.readUInt16BE(2);
    const state = this.#ctx.getSrtpSsrcState(ssrc);
    this.#ctx.updateRolloverCount(seq, state);
    const roc = state.rolloverCounter;
    let counters = this.#counters.get(ssrc);
    if (!counters) {
      counters = new CounterBlocks(ssrc, this.#ctx.srtpSessionSalt);
      this.#counters.set(ssrc, counters);
    }
    const n = (plen + 15) >> 4;
    counters.set(roc, seq, n);
    const stream = this.#ecb.update(counters.blocks.subarray(0, n * 16));
    const hlen = header.length;
    const len = hlen + plen;
    const out = Buffer.allocUnsafe(len + TAG);
    header.copy(out, 0);
    for (let i = 0; i < plen; i++) out[hlen + i] = (payload[i] ?? 0) ^ (stream[i] ?? 0);
    // HMAC-SHA1(k, header | payload | ROC) = H(k^opad | H(k^ipad | m)), truncated to 80 bits.
    const inner = this.#inner;
    out.copy(inner, 64, 0, len);
    inner.writeUInt32BE(roc >>> 0, 64 + len);
    hash('sha1', inner.subarray(0, 64 + len + 4), 'buffer').copy(this.#outer, 64);
    hash('sha1', this.#outer, 'buffer').copy(out, len, 0, TAG);
    return out;
  }
}

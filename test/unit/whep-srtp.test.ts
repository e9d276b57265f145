import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtpSession, type RTCDtlsTransport } from 'werift';
import { FastSrtp } from '../../src/ingest/whep/srtp-sender.js';

function sessions(): { sender: SrtpSession; receiver: SrtpSession; reference: SrtpSession } {
  const keys = {
    localMasterKey: randomBytes(16),
    localMasterSalt: randomBytes(14),
    remoteMasterKey: randomBytes(16),
    remoteMasterSalt: randomBytes(14),
  };
  const swapped = {
    localMasterKey: keys.remoteMasterKey,
    localMasterSalt: keys.remoteMasterSalt,
    remoteMasterKey: keys.localMasterKey,
    remoteMasterSalt: keys.localMasterSalt,
  };
  const profile = ProtectionProfileAes128CmHmacSha1_80;
  return {
    sender: new SrtpSession({ keys, profile }),
    reference: new SrtpSession({ keys, profile }),
    receiver: new SrtpSession({ keys: swapped, profile }),
  };
}

const headerOf = (h: RtpHeader) => h.serialize(h.serializeSize);

describe('FastSrtp (AES_CM_128_HMAC_SHA1_80 for viewers)', () => {
  it('protects packets byte for byte as werift does, across a sequence-number wrap, and they decrypt', () => {
    const { sender, receiver, reference } = sessions();
    const fast = FastSrtp.of({ srtp: sender } as unknown as RTCDtlsTransport)!;
    expect(fast).not.toBeNull();
    const mid = { id: 1, payload: Buffer.from('0') };
    for (let i = 0; i < 400; i++) {
      const seq = (0xff00 + i) & 0xffff;
      const payload = randomBytes(1 + ((i * 37) % 1300));
      const header = new RtpHeader({
        payloadType: 102,
        sequenceNumber: seq,
        timestamp: 90000 + i * 3000,
        ssrc: 0x12345678,
        marker: i % 5 === 0,
        extensions: i % 2 === 0 ? [mid] : [],
      });
      const got = fast.protect(headerOf(header), payload);
      const want = reference.encrypt(payload, header);
      expect(got).not.toBeNull();
      expect(got!.equals(want)).toBe(true);
      const clear = receiver.decrypt(got!);
      expect(clear.subarray(clear.length - payload.length).equals(payload)).toBe(true);
    }
  });

  it('is not used for another SRTP profile', () => {
    const keys = {
      localMasterKey: randomBytes(16),
      localMasterSalt: randomBytes(12),
      remoteMasterKey: randomBytes(16),
      remoteMasterSalt: randomBytes(12),
    };
    const gcm = new SrtpSession({ keys, profile: 7 });
    expect(FastSrtp.of({ srtp: gcm } as unknown as RTCDtlsTransport)).toBeNull();
    expect(FastSrtp.of({} as unknown as RTCDtlsTransport)).toBeNull();
  });
});

import { describe, expect, it } from '@jest/globals';
import { h264ProfileScore, negotiateViewerOffer } from '../../src/ingest/whep/offer.js';

/** A browser-shaped recvonly WHEP offer: H.264 types in the given order, then Opus. */
function offer(h264: { pt: number; mode: 0 | 1; plid: string }[]): string {
  const pts = h264.map((c) => c.pt).join(' ');
  return [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`,
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa',
    'a=fingerprint:sha-256 ' + Array.from({ length: 32 }, () => 'AB').join(':'),
    'a=setup:actpass',
    'a=rtcp-mux',
    'a=recvonly',
    ...h264.flatMap((c) => [
      `a=rtpmap:${c.pt} H264/90000`,
      `a=rtcp-fb:${c.pt} nack`,
      `a=rtcp-fb:${c.pt} nack pli`,
      `a=fmtp:${c.pt} level-asymmetry-allowed=1;packetization-mode=${c.mode};profile-level-id=${c.plid}`,
    ]),
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    'c=IN IP4 0.0.0.0',
    'a=mid:1',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa',
    'a=setup:actpass',
    'a=rtcp-mux',
    'a=recvonly',
    'a=rtpmap:111 opus/48000/2',
    '',
  ].join('\r\n');
}

const BROWSER = [
  { pt: 104, mode: 0, plid: '42001f' },
  { pt: 102, mode: 1, plid: '42001f' },
  { pt: 108, mode: 1, plid: '42e01f' },
  { pt: 116, mode: 1, plid: '4d001f' },
  { pt: 123, mode: 1, plid: '64001f' },
] as const;

const published = (profileLevelId?: string) => ({
  video: { codec: 'h264' as const, profileLevelId },
  audio: { codec: 'opus' as const },
});

describe('negotiateViewerOffer: the viewer payload type for what is published', () => {
  it('takes packetization-mode=1 only, and the same profile over the first one offered', () => {
    const high = negotiateViewerOffer(offer([...BROWSER]), published('640028'));
    expect(high.video).toMatchObject({ mid: '0', kind: 'video', payloadType: 123, profileMatch: true });
    expect(high.audio).toMatchObject({ mid: '1', payloadType: 111, clockRate: 48000 });
    // The answer is built from the offer reduced to the chosen type.
    expect(high.sdp).toMatch(/m=video 9 UDP\/TLS\/RTP\/SAVPF 123\r\n/);
    expect(high.sdp).not.toMatch(/a=rtpmap:10[248] /);
    expect(negotiateViewerOffer(offer([...BROWSER]), published('4d0028')).video?.payloadType).toBe(116);
    expect(negotiateViewerOffer(offer([...BROWSER]), published('42e01f')).video?.payloadType).toBe(102);
  });

  it('a containing profile next (constrained baseline in main or high), then any other', () => {
    const noBaseline = BROWSER.filter((c) => !c.plid.startsWith('42'));
    expect(negotiateViewerOffer(offer(noBaseline), published('42e01f')).video).toMatchObject({
      payloadType: 116,
      profileMatch: true,
    });
    const baselineOnly = BROWSER.filter((c) => c.plid.startsWith('42'));
    expect(negotiateViewerOffer(offer(baselineOnly), published('640028')).video).toMatchObject({
      payloadType: 102,
      profileMatch: false,
    });
    expect(h264ProfileScore('640028', '64001f')).toBe(3);
    expect(h264ProfileScore('42e01f', '640028')).toBe(2);
    expect(h264ProfileScore('4d0028', '42e01f')).toBe(1);
    expect(h264ProfileScore(undefined, '42e01f')).toBe(2);
  });

  it('406 when no packetization-mode=1 type is offered', () => {
    const modeZero = BROWSER.map((c) => ({ ...c, mode: 0 as const }));
    expect(() => negotiateViewerOffer(offer(modeZero), published('640028'))).toThrow(
      expect.objectContaining({ status: 406 }),
    );
  });

  it('before the SPS is known, the first packetization-mode=1 type', () => {
    expect(negotiateViewerOffer(offer([...BROWSER]), published()).video?.payloadType).toBe(102);
  });
});

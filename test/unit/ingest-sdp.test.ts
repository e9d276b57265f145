import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/core/errors.js';
import { buildIceFragment, parseIceFragment } from '../../src/ingest/sdp/ice-fragment.js';
import { negotiateOffer } from '../../src/ingest/sdp/offer.js';
import { parseSdpText, serializeSdpText } from '../../src/ingest/sdp/sdp-text.js';
import { refusal, sdpFixture } from '../helpers/sdp-fixtures.js';

const OBS = sdpFixture('obs');
const CHROMIUM = sdpFixture('chromium');

const edit = (sdp: string, from: string | RegExp, to: string) => sdp.replace(from, to);
const dropLines = (sdp: string, re: RegExp) =>
  sdp
    .split('\r\n')
    .filter((l) => !re.test(l))
    .join('\r\n');

describe('negotiateOffer with real offers', () => {
  it('takes the OBS-shaped offer: H.264 with its own profile-level-id, and Opus', () => {
    const n = negotiateOffer(OBS);
    expect(n.video).toEqual({
      mid: '1',
      codec: 'h264',
      payloadType: 96,
      feedback: { nack: true, pli: true, fir: false },
      parameterSets: [],
      rids: [],
    });
    expect(n.audio).toMatchObject({ mid: '0', codec: 'opus', payloadType: 111, channels: 2 });
    expect(n).toMatchObject({ bundleMid: '0', iceUfrag: 'E/Sf', icePwd: 'l1Sixcwzip7o3/zBKI/D6O' });
    expect(n.sdp).toContain(
      'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
    );
    expect(n.sdp).not.toContain('goog-remb');
  });

  it("picks Chromium's first supported codec and strips the rest (RTX, RED, FEC, other H.264 modes)", () => {
    const n = negotiateOffer(CHROMIUM);
    expect(n.video).toMatchObject({
      codec: 'vp8',
      payloadType: 96,
      feedback: { nack: true, pli: true, fir: true },
    });
    expect(n.audio).toMatchObject({ codec: 'opus', payloadType: 111 });
    const video = parseSdpText(n.sdp).media[1]!;
    expect(video.formats).toEqual(['96']);
    expect(video.lines.filter((l) => /^a=(rtpmap|fmtp|rtcp-fb):/.test(l))).toEqual([
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
    ]);
    expect(video.lines.some((l) => l.startsWith('a=ssrc-group:') || l.startsWith('a=ssrc:943853569'))).toBe(
      false,
    );
    expect(video.lines.filter((l) => l.startsWith('a=candidate:'))).toHaveLength(6); // kept for werift
  });

  it('prefers what the publisher lists first', () => {
    const h264First = edit(
      CHROMIUM,
      'm=video 56150 UDP/TLS/RTP/SAVPF 96 97 102',
      'm=video 56150 UDP/TLS/RTP/SAVPF 102 96 97',
    );
    expect(negotiateOffer(h264First).video).toMatchObject({ codec: 'h264', payloadType: 102 });
    const vp9Only = edit(
      CHROMIUM,
      /m=video 56150 UDP\/TLS\/RTP\/SAVPF [\d ]+/,
      'm=video 56150 UDP/TLS/RTP/SAVPF 100 98',
    );
    expect(negotiateOffer(vp9Only).video).toMatchObject({ codec: 'vp9', payloadType: 98 }); // profile 2 skipped
  });

  it('round-trips SDP text', () => {
    expect(serializeSdpText(parseSdpText(OBS))).toBe(OBS);
  });
});

describe('negotiateOffer refuses', () => {
  it.each([
    ['text that is not SDP', 'hello world', 400],
    ['SDP without v=0 first', OBS.replace('v=0\r\n', ''), 400],
    ['a control character', OBS.replace('s=-', 's=\u0001'), 400],
    ['an m-line without a mid', dropLines(OBS, /^a=mid:1$/), 400],
    ['no ICE credentials', dropLines(OBS, /^a=ice-(ufrag|pwd):/), 400],
    ['no fingerprint', dropLines(OBS, /^a=fingerprint:/), 400],
    ['a malformed m-line', OBS.replace('m=video 34663 UDP/TLS/RTP/SAVPF 96', 'm=video x y'), 400],
  ])('%s with 400', (_what, offer, status) => {
    expect(refusal(offer).status).toBe(status);
  });

  it.each([
    [
      'only H.264 packetization-mode 0',
      OBS.replace('packetization-mode=1', 'packetization-mode=0'),
      /H264 packetization-mode=0/,
    ],
    ['no audio or video', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', /no audio or video/],
    [
      'a data channel',
      `${OBS}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n`,
      /data channels/,
    ],
    [
      'two video m-lines',
      `${OBS}${OBS.slice(OBS.indexOf('m=video')).replace('a=mid:1', 'a=mid:2')}`,
      /2 video/,
    ],
    ['a recvonly m-line', OBS.replace('a=sendonly', 'a=recvonly'), /sendonly/],
    ['m-lines outside the bundle', OBS.replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0'), /BUNDLE/],
    ['receive simulcast', OBS.replace('a=mid:1', 'a=mid:1\r\na=simulcast:recv h;l'), /simulcast/],
    ['no a=ssrc', dropLines(OBS, /^a=ssrc:750524111 /), /a=ssrc/],
    [
      'plain RTP',
      OBS.replace('m=audio 34663 UDP/TLS/RTP/SAVPF', 'm=audio 34663 RTP/AVP'),
      /UDP\/TLS\/RTP\/SAVPF/,
    ],
  ])('%s with 422 and what is supported', (_what, offer, why) => {
    const r = refusal(offer);
    expect(r.status).toBe(422);
    expect(r.message).toMatch(why);
  });

  it('says what is supported when no codec fits', () => {
    const r = refusal(OBS.replace('opus/48000/2', 'PCMU/8000'));
    expect(r.message).toMatch(/offered: PCMU/);
    expect(r.message).toMatch(/H\.264 \(packetization-mode=1.*VP8.*VP9.*Opus/);
  });
});

describe('trickle ICE fragments', () => {
  // RFC 8840 section 9.1's example.
  const RFC_EXAMPLE =
    'a=ice-pwd:asd88fgpdd777uzjYhagZg\r\na=ice-ufrag:8hhY\r\nm=audio 9 RTP/AVP 0\r\na=mid:1\r\n' +
    'a=candidate:1 1 UDP 1658497328 192.0.2.3 5000 typ host\r\na=end-of-candidates\r\n';

  it('parses candidates with their mid, credentials and end-of-candidates', () => {
    expect(parseIceFragment(RFC_EXAMPLE)).toEqual({
      ufrag: '8hhY',
      pwd: 'asd88fgpdd777uzjYhagZg',
      candidates: [{ candidate: 'candidate:1 1 UDP 1658497328 192.0.2.3 5000 typ host', mid: '1' }],
      endOfCandidates: true,
    });
    const bare = parseIceFragment(
      'a=candidate:2 1 udp 2122194687 fd00::2 47886 typ srflx raddr 0.0.0.0 rport 0\n',
    );
    expect(bare).toMatchObject({ ufrag: undefined, candidates: [{ mid: null }], endOfCandidates: false });
  });

  it('refuses what is not a fragment', () => {
    expect(() => parseIceFragment('a=candidate:nonsense')).toThrow(/not a valid ICE candidate/);
    expect(() => parseIceFragment('junk')).toThrow(AppError);
    const many = Array.from(
      { length: 65 },
      (_, i) => `a=candidate:${i} 1 udp 1 10.0.0.1 ${1000 + i} typ host`,
    );
    expect(() => parseIceFragment(many.join('\r\n'))).toThrow(/at most 64/);
  });

  it('builds the server fragment of an ICE restart', () => {
    const text = buildIceFragment({
      ufrag: 'abcd',
      pwd: 'p'.repeat(22),
      kind: 'audio',
      mid: '0',
      candidates: ['candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host'],
      endOfCandidates: true,
    });
    expect(parseIceFragment(text)).toMatchObject({
      ufrag: 'abcd',
      candidates: [{ mid: '0' }],
      endOfCandidates: true,
    });
  });
});

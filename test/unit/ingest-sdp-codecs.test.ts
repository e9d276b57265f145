import { describe, expect, it } from '@jest/globals';
import { negotiateOffer } from '../../src/ingest/sdp/offer.js';
import { refusal, sdpFixture } from '../helpers/sdp-fixtures.js';

const H265 = sdpFixture('obsH265');
const AV1 = sdpFixture('chromiumAv1');
const SIMULCAST = sdpFixture('chromiumSimulcast');

const VPS = '40010c01ffff01600000030090000003000003003f959409';
const SPS = '42010101600000030090000003000003003fa005020171f2e595952930bc05a020000003002000000303c1';
const PPS = '4401c073c189';
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

describe('negotiateOffer: H.265 and AV1', () => {
  it("takes OBS's H.265 offer (libdatachannel)", () => {
    const n = negotiateOffer(H265);
    expect(n.video).toMatchObject({ codec: 'h265', payloadType: 96, parameterSets: [], rids: [] });
    expect(n.sdp).toMatch(/a=rtpmap:96 H265\/90000\r\n/);
  });

  it('reads sprop-vps, sprop-sps and sprop-pps (RFC 7798 7.1) as the parameter sets', () => {
    const fmtp = `a=fmtp:96 sprop-vps=${b64(VPS)};sprop-sps=${b64(SPS)};sprop-pps=${b64(PPS)}`;
    const n = negotiateOffer(H265.replace('a=rtpmap:96 H265/90000', `a=rtpmap:96 H265/90000\r\n${fmtp}`));
    expect(n.video?.parameterSets.map((b) => b.toString('hex'))).toEqual([VPS, SPS, PPS]);
    const wrong = H265.replace(
      'a=rtpmap:96 H265/90000',
      `a=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-sps=${b64(PPS)}`,
    );
    expect(refusal(wrong)).toMatchObject({ status: 400, message: expect.stringMatching(/sprop-sps/) });
    const junk = H265.replace('a=rtpmap:96 H265/90000', 'a=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-vps=!!');
    expect(refusal(junk).status).toBe(400);
  });

  it('refuses DONL (sprop-max-don-diff > 0) and MRST, saying what was offered', () => {
    for (const fmtp of ['sprop-max-don-diff=2', 'tx-mode=MRST']) {
      const r = refusal(
        H265.replace('a=rtpmap:96 H265/90000', `a=rtpmap:96 H265/90000\r\na=fmtp:96 ${fmtp}`),
      );
      expect(r.status).toBe(422);
      expect(r.message).toContain(`H265 ${fmtp}`);
      expect(r.message).toMatch(/H\.265 \(tx-mode SRST, no sprop-max-don-diff\)/);
    }
  });

  it("takes Chromium's AV1 when it comes first", () => {
    expect(negotiateOffer(AV1).video).toMatchObject({ codec: 'av1', payloadType: 45, rids: [] });
  });
});

describe('negotiateOffer: simulcast (RFC 8853, RFC 8851)', () => {
  it("takes Chromium's three layers: rids in order, a=rid and a=simulcast for werift, no a=ssrc", () => {
    const n = negotiateOffer(SIMULCAST);
    expect(n.video).toMatchObject({ codec: 'vp8', rids: ['q', 'h', 'f'] });
    const video = n.sdp.slice(n.sdp.indexOf('m=video'));
    expect(video).toContain('a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f\r\n');
    expect(video).not.toMatch(/a=ssrc/);
    expect(video).toMatch(/a=extmap:\d+ urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id/);
  });

  it('takes paused layers and drops restrictions', () => {
    const n = negotiateOffer(
      SIMULCAST.replace('a=rid:f send', 'a=rid:f send max-width=1280;max-height=720').replace(
        'a=simulcast:send q;h;f',
        'a=simulcast:send q;h;~f',
      ),
    );
    expect(n.video?.rids).toEqual(['q', 'h', 'f']);
    expect(n.sdp).toContain('a=rid:f send\r\n');
  });

  it.each([
    ['receive simulcast', ['a=simulcast:send q;h;f', 'a=simulcast:recv q;h;f'], 422, /sends simulcast/],
    ['a rid without its a=rid line', ['a=rid:f send\r\n', ''], 400, /without an a=rid/],
    ['a bad rid', ['a=simulcast:send q;h;f', 'a=simulcast:send q;h;f!'], 400, /valid rid/],
    ['no rid header extension', [/a=extmap:10 .*\r\n/, ''], 422, /rtp-stream-id/],
  ] as const)('refuses %s', (_what, [from, to], status, why) => {
    const r = refusal(SIMULCAST.replace(from, to));
    expect(r.status).toBe(status);
    expect(r.message).toMatch(why);
  });

  it('refuses more than four layers with 422', () => {
    const rids = ['a', 'b', 'c', 'd', 'e'];
    const offer = SIMULCAST.replace(
      'a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\na=simulcast:send q;h;f',
      [...rids.map((r) => `a=rid:${r} send`), `a=simulcast:send ${rids.join(';')}`].join('\r\n'),
    );
    expect(refusal(offer)).toMatchObject({ status: 422, message: expect.stringMatching(/at most 4/) });
  });
});

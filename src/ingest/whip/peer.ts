import { AppError } from '../../core/errors.js';
import { announceAddresses } from '../sdp/announce.js';
import {
  DtlsClient,
  RTCPeerConnection,
  useFIR,
  useH264,
  useNACK,
  useOPUS,
  usePLI,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  useVP8,
  useVP9,
  RTCRtpCodecParameters,
  type DtlsSocket,
  type RTCDtlsTransport,
  type RTCRtpHeaderExtensionParameters,
} from 'werift';
import { attributeValue, attributeValues, parseSdpText } from '../sdp/sdp-text.js';

/** Where and how the server's side of ICE gathers candidates. */
export interface PeerNetworkOptions {
  /**
   * STUN/TURN URLs (ICE_SERVERS). werift queries the first STUN one for a server-reflexive
   * candidate; TURN needs credentials, which ICE_SERVERS does not carry, so it is unused.
   */
  iceServers: readonly string[];
  /**
   * Host addresses gathered besides the machine's own (which exclude loopback), so a
   * publisher on the same host (and every test) connects over 127.0.0.1.
   * @defaultValue ['127.0.0.1']
   */
  additionalHostAddresses?: string[];
  /** Gather IPv6 host candidates too. @defaultValue true */
  useIpv6?: boolean;
  /** UDP ports for ICE, [min, max] (min < max). @defaultValue any free port */
  portRange?: [number, number];
  /** Announced beside each host candidate of an answer (see announceAddresses). */
  publicAddresses?: readonly string[];
}

/** The codecs and header extensions of a peer, per kind. */
export interface PeerMedia {
  video: RTCRtpCodecParameters[];
  audio: RTCRtpCodecParameters[];
  headerExtensions: { video: RTCRtpHeaderExtensionParameters[]; audio: RTCRtpHeaderExtensionParameters[] };
}

/** NACK, PLI and FIR: the video feedback both sides of the server use. */
export const videoFeedback = () => [useNACK(), usePLI(), useFIR()];

/**
 * werift 0.24.4 has no helpers for H.265 and AV1 (its useAV1X names an old draft); it
 * matches codecs by MIME type and answers with the offer's fmtp, so these suffice.
 */
export const useH265 = (rtcpFeedback = videoFeedback()) =>
  new RTCRtpCodecParameters({ mimeType: 'video/H265', clockRate: 90000, rtcpFeedback });
export const useAV1 = (rtcpFeedback = videoFeedback()) =>
  new RTCRtpCodecParameters({ mimeType: 'video/AV1', clockRate: 90000, rtcpFeedback });

/**
 * A server-side peer (WHIP ingest, WHEP viewer). Not werift's defaults (VP8 only, Google's
 * STUN server, no bundle): max-bundle and rtcp-mux, the STUN servers of ICE_SERVERS only,
 * loopback among the host candidates.
 */
export function createPeer(opts: PeerNetworkOptions, media: PeerMedia): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: opts.iceServers.filter((u) => /^stuns?:/i.test(u)).map((urls) => ({ urls })),
    bundlePolicy: 'max-bundle',
    iceAdditionalHostAddresses: opts.additionalHostAddresses ?? ['127.0.0.1'],
    iceUseIpv4: true,
    iceUseIpv6: opts.useIpv6 ?? true,
    ...(opts.portRange ? { icePortRange: opts.portRange } : {}),
    codecs: { video: media.video, audio: media.audio },
    headerExtensions: media.headerExtensions,
  });
}

/**
 * A receive-only peer for one publish: H.264 / H.265 / AV1 / VP8 / VP9 and Opus with the
 * publisher's own parameters (werift matches codecs by name and echoes the offer's fmtp,
 * so any H.264 profile-level-id is taken), the mid, rid and repaired-rid header
 * extensions (simulcast), and NACK, PLI and FIR feedback. The offer given to it has already been reduced to one codec per m-line (see
 * negotiateOffer), so the answer names exactly what ingest receives.
 */
export function createIngestPeer(opts: PeerNetworkOptions): RTCPeerConnection {
  const rtcpFeedback = videoFeedback();
  return createPeer(opts, {
    video: [
      useH264({ rtcpFeedback }),
      useH265(rtcpFeedback),
      useAV1(rtcpFeedback),
      useVP8({ rtcpFeedback }),
      useVP9({ rtcpFeedback }),
    ],
    audio: [useOPUS()],
    headerExtensions: {
      video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()],
      audio: [useSdesMid()],
    },
  });
}

/**
 * werift falls back to stun.l.google.com when no STUN server is configured, and waits up
 * to 5 s for it while gathering. Ingest queries only the STUN servers of ICE_SERVERS.
 */
function dropDefaultStun(pc: RTCPeerConnection, opts: PeerNetworkOptions): void {
  if (opts.iceServers.some((u) => /^stuns?:/i.test(u))) return;
  for (const t of pc.iceTransports) t.connection.stunServer = undefined;
}

/** DTLS HelloVerifyRequest (RFC 6347 4.2.1), handshake message type 3. */
const HELLO_VERIFY_REQUEST = 3;
const guarded = new WeakSet<RTCDtlsTransport>();

/**
 * The server answers `a=setup:active`, so its werift peer is the DTLS client. werift's
 * client retransmits its ClientHello after 500 ms without an answer, and the remote's DTLS
 * server answers each copy with a HelloVerifyRequest; werift then fails the handshake
 * (and the peer connection) on the second one (Flight3.exec throws when flight 3 was
 * already sent). On a busy server, where an answer waits more than 500 ms in the event
 * loop, or over a path with that round-trip time, a viewer or publisher failed that way.
 * A repeated HelloVerifyRequest carries nothing new (the cookie of a DTLS server stays
 * the same, and our ClientHello with it is retransmitted on its own timer): it is dropped.
 * Applied before the handshake starts: the DTLS socket is created in transport.start().
 */
export function tolerateRepeatedHelloVerify(transport: RTCDtlsTransport): void {
  if (guarded.has(transport)) return;
  guarded.add(transport);
  let socket = transport.dtls;
  Object.defineProperty(transport, 'dtls', {
    configurable: true,
    enumerable: true,
    get: () => socket,
    set: (s: DtlsSocket | undefined) => {
      socket = s;
      if (s instanceof DtlsClient) {
        const handle = s.onHandleHandshakes;
        s.onHandleHandshakes = (assembled) => {
          if (s.dtls.flight < 3) return handle(assembled);
          const rest = assembled.filter((h) => h.msg_type !== HELLO_VERIFY_REQUEST);
          return rest.length === 0 ? Promise.resolve() : handle(rest);
        };
      }
    },
  });
}

/** Bytes a peer's UDP socket may queue: about 3 s of a 2.5 Mb/s publish. */
const RECEIVE_BUFFER_BYTES = 1 << 20;

/**
 * The kernel's default UDP receive buffer (212 KB on Debian) holds well under a second of
 * a publish; when the event loop is held up (a burst of viewers, GC) the rest is dropped
 * before NACKs can help, and every WHEP viewer inherits the gap. The kernel caps the size
 * at net.core.rmem_max. werift keeps its sockets in internals, hence the duck typing.
 */
function enlargeReceiveBuffers(pc: RTCPeerConnection): void {
  for (const t of pc.iceTransports) {
    const protocols = (t.connection as unknown as { protocols?: Array<{ transport?: { socket?: unknown } }> })
      .protocols;
    for (const p of protocols ?? []) {
      const socket = p.transport?.socket as { setRecvBufferSize?: (n: number) => void } | undefined;
      try {
        socket?.setRecvBufferSize?.(RECEIVE_BUFFER_BYTES);
      } catch {
        // not bound yet, or closed: the default stays
      }
    }
  }
}

/**
 * Applies an offer and returns the answer once ICE gathering is complete, so it holds
 * every server candidate (OBS sends an offer without candidates and never trickles; it
 * connects to the answer's candidates and the server learns its address from its checks).
 */
export async function answerOffer(
  pc: RTCPeerConnection,
  offer: string,
  opts: PeerNetworkOptions,
  srtpProfiles?: number[],
): Promise<string> {
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  dropDefaultStun(pc, opts);
  for (const t of pc.dtlsTransports) {
    tolerateRepeatedHelloVerify(t);
    // Read when the DTLS handshake starts (after the answer): the profiles offered in use_srtp.
    if (srtpProfiles && t.state === 'new')
      (t as unknown as { srtpProfiles: number[] }).srtpProfiles = srtpProfiles;
  }
  const answer = await pc.createAnswer();
  // werift gathers inside setLocalDescription: when it resolves, gathering is complete.
  await pc.setLocalDescription(answer);
  enlargeReceiveBuffers(pc);
  const local = pc.localDescription?.sdp;
  if (!local) throw new Error('werift produced no local description');
  // werift gathers nothing, silently, when every port of ICE_PORT_RANGE is taken: an
  // answer without candidates could never connect.
  if (!local.includes('\r\na=candidate:')) {
    throw new AppError('unavailable', 'no UDP port free for ICE: too many sessions for ICE_PORT_RANGE');
  }
  return announceAddresses(local, opts.publicAddresses ?? []);
}

/** The server's ICE credentials and candidates in an answer, from the bundle's m-section. */
export function localIce(
  answer: string,
  mid: string,
): { ufrag: string; pwd: string; candidates: string[]; complete: boolean } {
  const sdp = parseSdpText(answer);
  const media = sdp.media.find((m) => attributeValue(m.lines, 'mid') === mid) ?? sdp.media[0];
  const lines = [...sdp.session, ...(media?.lines ?? [])];
  return {
    ufrag: attributeValue(lines, 'ice-ufrag') ?? '',
    pwd: attributeValue(lines, 'ice-pwd') ?? '',
    candidates: attributeValues(media?.lines ?? [], 'candidate').map((c) => `candidate:${c}`),
    complete: (media?.lines ?? []).includes('a=end-of-candidates'),
  };
}

import type { RTCPeerConnection } from 'werift';

/**
 * Applies a server's ICE restart fragment (the PATCH answer: new ufrag, pwd, candidates)
 * to the answer a client peer holds, and runs the new connectivity checks.
 */
export async function applyIceRestart(pc: RTCPeerConnection, fragment: string): Promise<void> {
  const lines = fragment.split('\r\n');
  const ufrag = lines.find((l) => l.startsWith('a=ice-ufrag:'));
  const pwd = lines.find((l) => l.startsWith('a=ice-pwd:'));
  if (!ufrag || !pwd) throw new Error(`not an ICE restart fragment: ${fragment}`);
  const candidates = lines.filter((l) => l.startsWith('a=candidate:'));
  const answer = pc
    .remoteDescription!.sdp.split('\r\n')
    .filter((l) => !l.startsWith('a=candidate:'))
    .flatMap((l) =>
      l.startsWith('a=ice-ufrag:')
        ? [ufrag]
        : l.startsWith('a=ice-pwd:')
          ? [pwd]
          : l.startsWith('a=mid:')
            ? [l, ...candidates]
            : [l],
    )
    .join('\r\n');
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  // werift's connect() skips a transport whose DTLS is up: run the new checks.
  for (const t of pc.iceTransports) if (!t.connection.nominated) void t.start();
}

/** The client's side of an ICE restart: new credentials, as a fragment of the bundle's m-line. */
export async function iceRestartFragment(pc: RTCPeerConnection): Promise<string> {
  pc.restartIce();
  await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
  const offer = pc.localDescription!.sdp.split('\r\n');
  return [
    offer.find((l) => l.startsWith('a=ice-ufrag:')),
    offer.find((l) => l.startsWith('a=ice-pwd:')),
    'm=video 9 UDP/TLS/RTP/SAVPF 0',
    offer.find((l) => l.startsWith('a=mid:')),
    '',
  ].join('\r\n');
}

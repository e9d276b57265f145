import { randomBytes } from 'node:crypto';
import type { RTCPeerConnection } from 'werift';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { unprocessable } from '../errors.js';
import { buildIceFragment, type IceFragment } from '../sdp/ice-fragment.js';
import { answerOffer, localIce, type PeerNetworkOptions } from '../whip/peer.js';

/** What ICE signalling needs of a negotiated offer (WHIP's NegotiatedOffer, WHEP's viewer offer). */
export interface SignaledOffer {
  sdp: string;
  bundleMid: string;
  iceUfrag: string;
  icePwd: string;
  video: { mid: string } | null;
  audio: { mid: string } | null;
}

const newEtag = () => `"${randomBytes(9).toString('base64url')}"`;

/**
 * The PATCH side of one WHIP or WHEP session (RFC 9725 4.3): trickled candidates and ICE
 * restarts, one at a time, against the session's peer connection; the entity tag of the
 * current ICE session. `isOpen` says whether the session still runs (else 404).
 */
export class PeerSignaling {
  /** Entity tag of the current ICE session (RFC 9725 4.3.1); changes on ICE restart. */
  etag = newEtag();
  readonly #pc: RTCPeerConnection;
  readonly #offer: SignaledOffer;
  readonly #network: PeerNetworkOptions;
  readonly #log: Logger;
  readonly #isOpen: () => boolean;
  #offerSdp: string;
  #remoteUfrag: string;
  #remotePwd: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    pc: RTCPeerConnection,
    offer: SignaledOffer,
    network: PeerNetworkOptions,
    log: Logger,
    isOpen: () => boolean,
  ) {
    this.#pc = pc;
    this.#offer = offer;
    this.#network = network;
    this.#log = log;
    this.#isOpen = isOpen;
    this.#offerSdp = offer.sdp;
    this.#remoteUfrag = offer.iceUfrag;
    this.#remotePwd = offer.icePwd;
  }

  /** New credentials in a fragment mean an ICE restart (RFC 9725 4.3.2); the same ones, trickle. */
  isIceRestart(frag: IceFragment): boolean {
    return (
      (frag.ufrag !== undefined && frag.ufrag !== this.#remoteUfrag) ||
      (frag.pwd !== undefined && frag.pwd !== this.#remotePwd)
    );
  }

  /** Trickled candidates (RFC 8840). Throws a `bad_request` AppError for ones werift rejects. */
  addCandidates(frag: IceFragment): Promise<void> {
    return this.#serialized(() => this.#addCandidates(frag));
  }

  async #addCandidates(frag: IceFragment): Promise<void> {
    this.#assertOpen();
    const offer = this.#offer;
    const mids = new Set([offer.video?.mid, offer.audio?.mid]);
    try {
      for (const c of frag.candidates) {
        const sdpMid = c.mid !== null && mids.has(c.mid) ? c.mid : offer.bundleMid;
        await this.#pc.addIceCandidate({ candidate: c.candidate, sdpMid });
      }
      if (frag.endOfCandidates) await this.#pc.addIceCandidate({ candidate: '', sdpMid: offer.bundleMid });
    } catch (e) {
      throw new AppError('bad_request', `a candidate was refused: ${errorMessage(e)}`, { cause: e });
    }
  }

  /**
   * ICE restart: the remote's new credentials go into its offer, which is applied again
   * (werift restarts ICE on new remote credentials and gathers anew); resolves with the
   * server's new fragment and the new answer. The DTLS association and the media path
   * stay as they are; `etag` has changed when it resolves.
   */
  restartIce(frag: IceFragment): Promise<{ fragment: string; answer: string }> {
    return this.#serialized(async () => {
      this.#assertOpen();
      if (frag.ufrag === undefined || frag.pwd === undefined) {
        throw new AppError('bad_request', 'an ICE restart needs both a=ice-ufrag and a=ice-pwd');
      }
      const offer = this.#offerSdp
        .split('\r\n')
        .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
        .map((l) =>
          l.startsWith('a=ice-ufrag:')
            ? `a=ice-ufrag:${frag.ufrag}`
            : l.startsWith('a=ice-pwd:')
              ? `a=ice-pwd:${frag.pwd}`
              : l,
        )
        .join('\r\n');
      let answer: string;
      try {
        answer = await answerOffer(this.#pc, offer, this.#network);
        // werift restarted the ICE agent (new credentials, no nominated pair) but its
        // connect() skips transports whose DTLS is up, so no checks would run: start them.
        for (const t of this.#pc.iceTransports) {
          if (!t.connection.nominated) {
            t.start().catch((e: unknown) => this.#log.warn({ err: e }, 'ICE restart checks failed'));
          }
        }
      } catch (e) {
        if (e instanceof AppError && e.code === 'unavailable') throw e;
        throw unprocessable(`the ICE restart failed: ${errorMessage(e)}`, e);
      }
      this.#offerSdp = offer;
      this.#remoteUfrag = frag.ufrag;
      this.#remotePwd = frag.pwd;
      this.etag = newEtag();
      await this.#addCandidates({ ...frag, ufrag: undefined, pwd: undefined });
      const bundle = this.#offer.bundleMid;
      const ice = localIce(answer, bundle);
      const kind = this.#offer.video?.mid === bundle ? 'video' : 'audio';
      this.#log.info('ICE restarted');
      const fragment = buildIceFragment({
        ufrag: ice.ufrag,
        pwd: ice.pwd,
        kind,
        mid: bundle,
        candidates: ice.candidates,
        endOfCandidates: ice.complete,
      });
      return { fragment, answer };
    });
  }

  #serialized<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #assertOpen(): void {
    if (!this.#isOpen()) throw new AppError('not_found', 'the session has ended');
  }
}

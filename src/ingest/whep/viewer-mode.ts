/**
 * What a WHEP viewer asked for (`?mode=`):
 * - `passthrough`: the publisher's own RTP, the lowest delay. It starts on a rung of the
 *   ladder when one has a key frame first (fast join: the publisher's next key frame may be
 *   seconds away, OBS sends them on its own schedule only) and switches to the publisher's
 *   RTP at its next key frame, as one continuous RTP stream.
 * - `rung`: a rung of the ladder only, chosen for the viewer's bandwidth (or pinned).
 */
export type WhepMode = 'passthrough' | 'rung';

export const WHEP_MODES: readonly WhepMode[] = ['passthrough', 'rung'];

/** What the viewer's video is now: nothing yet, the publisher's RTP, or a rung. */
export type Sending = { on: 'none' } | { on: 'passthrough' } | { on: 'rung'; rung: string };

/**
 * Which packets a viewer sends, per packet: switches happen only at key frames of what is
 * switched to (a decoder can start there), audio follows the video's source. Pure.
 */
export class ViewerMode {
  readonly mode: WhepMode;
  #sending: Sending = { on: 'none' };
  #wanted: string | null;

  constructor(mode: WhepMode, wantedRung: string | null = null) {
    this.mode = mode;
    this.#wanted = wantedRung;
  }

  get sending(): Sending {
    return this.#sending;
  }

  /** The rung the viewer should be on (the chooser's or the pinned); null: not known yet, any. */
  get wanted(): string | null {
    return this.#wanted;
  }

  want(rung: string | null): void {
    this.#wanted = rung;
  }

  /** A video packet of the publisher: whether to send it (a key frame start switches to it). */
  publisherVideo(keyStart: boolean): boolean {
    if (this.mode !== 'passthrough') return false;
    if (this.#sending.on === 'passthrough') return true;
    if (!keyStart) return false;
    this.#sending = { on: 'passthrough' };
    return true;
  }

  publisherAudio(): boolean {
    return this.mode === 'passthrough' && this.#sending.on !== 'rung';
  }

  /** A video packet of rung `rung`: whether to send it (the wanted rung's key frame start switches to it). */
  rungVideo(rung: string, keyStart: boolean): boolean {
    const s = this.#sending;
    if (s.on === 'passthrough') return false;
    const target = this.#wanted ?? (s.on === 'rung' ? s.rung : rung);
    if (keyStart && rung === target && !(s.on === 'rung' && s.rung === rung)) {
      this.#sending = { on: 'rung', rung };
      return true;
    }
    return s.on === 'rung' && s.rung === rung;
  }

  rungAudio(): boolean {
    return this.#sending.on === 'rung' || (this.mode === 'rung' && this.#sending.on === 'none');
  }

  /** The publisher changed (takeover): passthrough waits for the new one's key frame. */
  reset(): void {
    if (this.#sending.on === 'passthrough') this.#sending = { on: 'none' };
  }
}

/** What a session table holds: a WHIP publish or a WHEP viewer session. */
export interface TabledSession {
  readonly sessionId: string;
  readonly streamId: string;
  readonly ended: boolean;
  close(reason: 'deleted'): Promise<void>;
}

/** Running sessions by the id their session URL names (`/{whip|whep}/{stream}/{id}`). */
export class SessionTable<S extends TabledSession> {
  readonly #byId = new Map<string, S>();

  get size(): number {
    return this.#byId.size;
  }

  /** Holds `s` until it ends. */
  add(s: S, onEnd: (listener: () => void) => unknown): void {
    this.#byId.set(s.sessionId, s);
    onEnd(() => this.#byId.delete(s.sessionId));
  }

  values(): S[] {
    return [...this.#byId.values()];
  }

  /** The session behind a session URL, if it is still running. */
  get(streamId: string, sessionId: string): S | null {
    const s = this.#byId.get(sessionId);
    return s && s.streamId === streamId && !s.ended ? s : null;
  }

  /** DELETE: ends the session; false when there is no such running session. */
  async end(streamId: string, sessionId: string): Promise<boolean> {
    const s = this.get(streamId, sessionId);
    if (!s) return false;
    await s.close('deleted');
    return true;
  }
}

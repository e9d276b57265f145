import type { Logger } from '../core/log.js';

/** Clients remembered in one window at most: a spray of addresses cannot grow the map without bound. */
const MAX_CLIENTS = 50_000;

/**
 * Failed Bearer-token checks per client, in fixed windows (one minute by default). A
 * client that reached the limit is refused (429) until its window ends, with its right
 * token too: otherwise guessing would go on, only more slowly. The first refusal of a
 * window is logged once for that client; every later one is silent, so a flood cannot
 * fill the log either. Every window starts empty: memory holds only this window's clients.
 */
export class AuthFailures {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  #windowEnds = 0;
  readonly #failed = new Map<string, number>();

  constructor(o: { perWindow: number; windowMs?: number; log: Logger; now?: () => number }) {
    this.#limit = o.perWindow;
    this.#windowMs = o.windowMs ?? 60_000;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
  }

  /** Seconds `client` must wait before it may try again (for Retry-After); 0: it may try now. */
  retryAfterS(client: string): number {
    this.#roll();
    if ((this.#failed.get(client) ?? 0) < this.#limit) return 0;
    return Math.max(1, Math.ceil((this.#windowEnds - this.#now()) / 1000));
  }

  /** Counts a failed check; logs once when the client reaches the limit in this window. */
  fail(client: string, realm: string): void {
    this.#roll();
    const known = this.#failed.get(client);
    if (known === undefined && this.#failed.size >= MAX_CLIENTS) return;
    const n = (known ?? 0) + 1;
    this.#failed.set(client, n);
    if (n === this.#limit) {
      this.#log.warn(
        { client, realm, failures: n, windowS: this.#windowMs / 1000 },
        'too many failed authentications: this client is refused (429) until the window ends',
      );
    }
  }

  #roll(): void {
    const now = this.#now();
    if (now < this.#windowEnds) return;
    this.#failed.clear();
    this.#windowEnds = now + this.#windowMs;
  }
}

/**
 * How many of something (held requests, publish or viewer sessions) each client holds
 * now, by client key (src/core/client-address.ts). A client is forgotten at zero, so the
 * map holds only clients that hold something.
 */
export class PerClientCounts {
  readonly #n = new Map<string, number>();

  /** What `client` holds now. */
  of(client: string): number {
    return this.#n.get(client) ?? 0;
  }

  /** Takes one for `client` unless it already holds `max`; false then, and nothing changes. */
  take(client: string, max: number): boolean {
    const n = this.#n.get(client) ?? 0;
    if (n >= max) return false;
    this.#n.set(client, n + 1);
    return true;
  }

  /** Gives one back. */
  release(client: string): void {
    const n = this.#n.get(client) ?? 0;
    if (n <= 1) this.#n.delete(client);
    else this.#n.set(client, n - 1);
  }

  /** Clients holding anything now. */
  get clients(): number {
    return this.#n.size;
  }
}

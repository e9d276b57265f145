import type { Logger } from '../core/log.js';
import { PerClientCounts } from '../core/per-client.js';

/**
 * Drops a held request (its client went away) without an answer; does nothing once it
 * was answered.
 */
export type CancelHold = () => void;

/** Where held requests wait: one set per live rendition. */
export interface WaitingRoom<S> {
  waiters: Set<Waiter<S>>;
}

/**
 * A held request. One object per request, no closures: the event that wakes thousands of
 * them at once only calls decide() and answer() on each.
 */
export class Waiter<S> {
  timer: NodeJS.Timeout | null = null;
  done = false;

  constructor(
    readonly room: WaitingRoom<S>,
    /** Who holds it (a client key): its slot under the per-client cap. */
    readonly client: string,
    /** The answer once `s` allows one, else null. */
    readonly decide: (s: S) => unknown,
    readonly answer: (v: unknown) => void,
  ) {}
}

/** What a hold answers when it does not wait: its timeout, the shared cap, the client's own cap. */
export interface HoldOutcomes<T> {
  timeout: T;
  /** Every stream's held requests together reached the cap (503). */
  busy: T;
  /** This client already holds its share (429): the others keep theirs. */
  limited: T;
}

/**
 * The origin's held requests (blocking playlist reloads, parts named by a preload hint),
 * all streams together, under one cap, and each client under a cap of its own so that
 * one client cannot take the budget every viewer shares. A request waits in its
 * rendition's room until an event makes decide() return an answer, or its timeout passes.
 */
export class HeldRequests<S> {
  readonly #max: number;
  readonly #maxPerClient: number;
  readonly #log: Logger | undefined;
  readonly #perClient = new PerClientCounts();
  #held = 0;

  constructor(o: { max: number; maxPerClient?: number; log?: Logger }) {
    this.#max = o.max;
    this.#maxPerClient = o.maxPerClient ?? o.max;
    this.#log = o.log;
  }

  /** Requests held now. */
  get count(): number {
    return this.#held;
  }

  /** Clients holding requests now. */
  get clients(): number {
    return this.#perClient.clients;
  }

  /**
   * Holds `client`'s request in `room`; `limited` at once when the client holds its share
   * already, `busy` when every client together reached the cap.
   */
  hold<T>(
    room: WaitingRoom<S>,
    client: string,
    timeoutMs: number,
    outcomes: HoldOutcomes<T>,
    decide: (s: S) => T | null,
    answer: (v: T) => void,
  ): T | CancelHold {
    if (this.#perClient.of(client) >= this.#maxPerClient) return outcomes.limited;
    if (this.#held >= this.#max) return outcomes.busy;
    this.#perClient.take(client, this.#maxPerClient);
    this.#held++;
    const w = new Waiter<S>(room, client, decide, answer as (v: unknown) => void);
    w.timer = setTimeout(() => {
      if (this.#release(w)) this.#deliver(w, outcomes.timeout);
    }, timeoutMs);
    room.waiters.add(w);
    return () => void this.#release(w);
  }

  /** Answers every waiter of `room` that `state` satisfies, oldest first; returns how many. */
  wake(room: WaitingRoom<S>, state: S): number {
    if (room.waiters.size === 0) return 0;
    // Swap the set: the woken leave it by not being copied back, O(1) each.
    const waiters = room.waiters;
    room.waiters = new Set();
    let woken = 0;
    for (const w of waiters) {
      if (w.done) continue;
      const v = w.decide(state);
      if (v === null) {
        room.waiters.add(w);
        continue;
      }
      w.done = true;
      this.#held--;
      this.#perClient.release(w.client);
      if (w.timer) clearTimeout(w.timer);
      woken++;
      this.#deliver(w, v);
    }
    return woken;
  }

  /** Marks a waiter answered (or dropped) and forgets it; false if it already was. */
  #release(w: Waiter<S>): boolean {
    if (w.done) return false;
    w.done = true;
    this.#held--;
    this.#perClient.release(w.client);
    if (w.timer) clearTimeout(w.timer);
    w.room.waiters.delete(w);
    return true;
  }

  #deliver(w: Waiter<S>, v: unknown): void {
    try {
      w.answer(v);
    } catch (e) {
      // One failing answer must not keep the others held.
      this.#log?.error({ err: e }, 'answering a held request failed');
    }
  }
}

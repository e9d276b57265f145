/**
 * Sums and counts of samples over the last `windowMs` (bitrate and frame rate). Old
 * samples are dropped as new ones come, so memory is bounded by the sample rate.
 */
export class RollingWindow {
  readonly #windowMs: number;
  readonly #times: number[] = [];
  readonly #values: number[] = [];
  #head = 0;
  #sum = 0;
  #firstMs: number | null = null;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  add(atMs: number, value: number): void {
    if (this.#firstMs === null) this.#firstMs = atMs;
    this.#times.push(atMs);
    this.#values.push(value);
    this.#sum += value;
    this.#prune(atMs);
  }

  #prune(nowMs: number): void {
    const from = nowMs - this.#windowMs;
    while (this.#head < this.#times.length && this.#times[this.#head]! < from) {
      this.#sum -= this.#values[this.#head]!;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#values.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Seconds the rates are taken over: the window, or less while it is filling up. */
  #spanSeconds(nowMs: number): number {
    if (this.#firstMs === null) return 0;
    return Math.max(0.5, Math.min(this.#windowMs, nowMs - this.#firstMs)) / 1000;
  }

  /** Sum of the values in the window, per second. */
  ratePerSecond(nowMs: number): number {
    this.#prune(nowMs);
    const span = this.#spanSeconds(nowMs);
    return span === 0 ? 0 : this.#sum / span;
  }

  /** Number of samples in the window, per second. */
  countPerSecond(nowMs: number): number {
    this.#prune(nowMs);
    const span = this.#spanSeconds(nowMs);
    return span === 0 ? 0 : (this.#times.length - this.#head) / span;
  }
}

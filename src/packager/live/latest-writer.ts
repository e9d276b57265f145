/**
 * Writes "the latest version" of something (a playlist) without queueing every
 * version: a change while a write is under way marks it dirty, and one more write
 * follows with whatever is current then. Writes never overlap, so an older version can
 * never land after a newer one.
 */
export class LatestWriter {
  readonly #write: () => Promise<void>;
  readonly #onError: (err: unknown) => void;
  #running: Promise<void> | null = null;
  #dirty = false;

  constructor(write: () => Promise<void>, onError: (err: unknown) => void) {
    this.#write = write;
    this.#onError = onError;
  }

  schedule(): void {
    this.#dirty = true;
    this.#running ??= this.#loop();
  }

  /** Resolves once every scheduled write is done (failures go to onError). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #loop(): Promise<void> {
    try {
      while (this.#dirty) {
        this.#dirty = false;
        try {
          await this.#write();
        } catch (err) {
          this.#onError(err);
        }
      }
    } finally {
      this.#running = null;
    }
  }
}

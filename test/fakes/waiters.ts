/**
 * The waits every loopback fake offers its tests ("resolve with the nth message of this type"): each
 * pending wait checks again whenever the fake records something, and fails after a timeout.
 */

/** Generous default wait for test helpers: causality, not timing, is what tests assert. */
export const WAIT_TIMEOUT_MS = 5_000;

interface Waiter {
  /** True once the wait is satisfied (and settled). */
  readonly check: () => boolean;
  readonly abandon: (reason: string) => void;
}

export class Waiters {
  /** Names the fake in error messages, e.g. `fake Gemini`. */
  readonly #name: string;
  readonly #pending = new Set<Waiter>();

  constructor(name: string) {
    this.#name = name;
  }

  /** Resolves with the first value `find` returns (null and undefined mean "not yet"), checking again on every `changed()`. */
  waitFor<T>(find: () => T | null | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const hit = find();
      if (hit !== undefined && hit !== null) {
        resolve(hit);
        return;
      }
      const waiter: Waiter = {
        check: () => {
          const found = find();
          if (found === undefined || found === null) return false;
          clearTimeout(timer);
          resolve(found);
          return true;
        },
        abandon: (reason) => {
          clearTimeout(timer);
          reject(new Error(`${this.#name}: ${reason} while waiting for ${what}`));
        },
      };
      const timer = setTimeout(() => {
        this.#pending.delete(waiter);
        reject(new Error(`${this.#name}: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.add(waiter);
    });
  }

  /** Something was recorded: every pending wait checks again. */
  changed(): void {
    for (const waiter of this.#pending) if (waiter.check()) this.#pending.delete(waiter);
  }

  /** Fails every pending wait at once, e.g. `closed` when the fake shuts down. */
  abandonAll(reason: string): void {
    for (const waiter of this.#pending) waiter.abandon(reason);
    this.#pending.clear();
  }
}

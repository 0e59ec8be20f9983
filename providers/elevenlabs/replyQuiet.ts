/**
 * ElevenLabs sends no "reply finished" event: a reply is over when its audio stops coming. This timer
 * says so once a turn's audio has been quiet for `REPLY_QUIET_END_MS`, so a closing line (`say`) gets its
 * `onResponseDone` without waiting for the caller to speak. One timer per quiet period, never one per chunk.
 */
import { performance } from "node:perf_hooks";

/** Replies stream faster than real time, so a gap this long between chunks means the reply has ended. */
export const REPLY_QUIET_END_MS = 1_500;

export class ReplyQuiet {
  readonly #onQuiet: () => void;
  #lastAudioAt = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #check = (): void => this.#onTimer();

  constructor(onQuiet: () => void) {
    this.#onQuiet = onQuiet;
  }

  /** A chunk of the current reply was delivered: the quiet period starts again. */
  heard(): void {
    this.#lastAudioAt = performance.now();
    if (this.#timer === null) this.#arm(REPLY_QUIET_END_MS);
  }

  /** The turn ended some other way (interruption, the caller's turn, close). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(this.#check, delayMs);
    this.#timer.unref();
  }

  #onTimer(): void {
    const quietFor = performance.now() - this.#lastAudioAt;
    if (quietFor < REPLY_QUIET_END_MS) {
      this.#arm(REPLY_QUIET_END_MS - quietFor);
      return;
    }
    this.#timer = null;
    this.#onQuiet();
  }
}

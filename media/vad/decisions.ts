/**
 * Turns a stream of per-window speech probabilities into speech start / end decisions. Shared by
 * Silero (32 ms windows, real probabilities) and WebRTC VAD (20 ms frames, 0/1 flags), so both VADs
 * behave the same for the same config.
 */
import type { VadCallbacks, VadConfig } from "./types.js";

/**
 * While speech is still too short to count, a pause up to this long (or the hangover, if shorter)
 * keeps it going: words in a phrase are split by 60–200 ms dips, while line-noise crackles sit
 * 500 ms or more apart.
 */
export const ONSET_GAP_MS = 300;

export class SpeechDecider {
  readonly #callbacks: VadCallbacks;
  readonly #threshold: number;
  readonly #endThreshold: number;
  /** Speech needed before a start, in the VAD's own run time (see `trailMs`). */
  readonly #startAfterMs: number;
  readonly #gapMs: number;
  readonly #silenceDurationMs: number;
  #speaking = false;
  /** Onset of the speech not yet long enough to count; NaN when there is none. */
  #onsetMs = Number.NaN;
  #speechMs = 0;
  #lastSpeechEndMs = 0;
  /** Start of the current silence while speaking; NaN when there is none. */
  #silenceStartMs = Number.NaN;

  /**
   * `trailMs` is how much longer than the speech itself the VAD keeps reporting it (model lag,
   * built-in hangover), so `minSpeechMs` means the same audio for every VAD.
   */
  constructor(config: VadConfig, callbacks: VadCallbacks, trailMs: number) {
    this.#callbacks = callbacks;
    this.#threshold = config.threshold;
    this.#endThreshold = config.endThreshold;
    this.#startAfterMs = config.minSpeechMs + trailMs;
    this.#gapMs = Math.min(ONSET_GAP_MS, config.silenceDurationMs);
    this.#silenceDurationMs = config.silenceDurationMs;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feeds one window's probability; windows must arrive in stream order. */
  observe(probability: number, windowStartMs: number, windowEndMs: number): void {
    if (this.#speaking) this.#whileSpeaking(probability, windowStartMs, windowEndMs);
    else this.#whileSilent(probability, windowStartMs, windowEndMs);
  }

  reset(): void {
    this.#speaking = false;
    this.#onsetMs = Number.NaN;
    this.#speechMs = 0;
    this.#silenceStartMs = Number.NaN;
  }

  #whileSilent(p: number, startMs: number, endMs: number): void {
    if (Number.isNaN(this.#onsetMs)) {
      // Speech can only begin on a confident window; weaker ones merely extend it (hysteresis).
      if (p < this.#threshold) return;
      this.#onsetMs = startMs;
      this.#speechMs = 0;
    } else if (p < this.#endThreshold) {
      if (endMs - this.#lastSpeechEndMs > this.#gapMs) this.#onsetMs = Number.NaN;
      return;
    }
    this.#speechMs += endMs - startMs;
    this.#lastSpeechEndMs = endMs;
    if (this.#speechMs >= this.#startAfterMs) {
      this.#speaking = true;
      this.#silenceStartMs = Number.NaN;
      const onsetMs = this.#onsetMs;
      this.#onsetMs = Number.NaN;
      this.#callbacks.onSpeechStart(onsetMs);
    }
  }

  #whileSpeaking(p: number, startMs: number, endMs: number): void {
    if (p >= this.#endThreshold) {
      this.#silenceStartMs = Number.NaN;
      return;
    }
    if (Number.isNaN(this.#silenceStartMs)) this.#silenceStartMs = startMs;
    if (endMs - this.#silenceStartMs >= this.#silenceDurationMs) {
      this.#speaking = false;
      const offsetMs = this.#silenceStartMs;
      this.#silenceStartMs = Number.NaN;
      this.#callbacks.onSpeechEnd(offsetMs);
    }
  }
}

/**
 * One call's side of Silero VAD: turns 20 ms frames into the model's 32 ms windows, queues them for
 * the batcher, keeps the call's recurrent state and feeds each probability to the decisions.
 *
 * 8 kHz input, as the v5 model expects it: 256 new samples (32 ms) per window, preceded by the last
 * 32 samples of the previous window as context, so each inference sees 288 samples. The length is
 * what matters most: 256 samples alone make the probabilities flicker inside words (zeros as
 * context score almost like the real one), and 512-sample windows fail inside the model at 8 kHz.
 */
import { SpeechDecider } from "./decisions.js";
import type { VadCallbacks, VadConfig, VadStream } from "./types.js";

export const SILERO_SAMPLE_RATE = 8000;
export const SILERO_WINDOW_SAMPLES = 256;
export const SILERO_CONTEXT_SAMPLES = 32;
export const SILERO_WINDOW_MS = (SILERO_WINDOW_SAMPLES * 1000) / SILERO_SAMPLE_RATE;
export const SILERO_INPUT_SAMPLES = SILERO_CONTEXT_SAMPLES + SILERO_WINDOW_SAMPLES;
/** The model's recurrent state per stream: [2, batch, 128]. */
export const SILERO_STATE_UNITS = 128;
export const SILERO_STATE_SIZE = 2 * SILERO_STATE_UNITS;
const SAMPLES_PER_MS = SILERO_SAMPLE_RATE / 1000;
/**
 * Silero's probability decays about a window after speech stops: the 239 ms "uh-huh" fixture reads
 * as 288 ms of speech. Two windows keep `minSpeechMs` meaning audio.
 */
const SILERO_TRAIL_MS = 2 * SILERO_WINDOW_MS;
/** Windows a stream may queue between flushes (512 ms); beyond that the oldest is dropped and counted. */
const QUEUE_WINDOWS = 16;

/** What a stream needs from the batcher that owns it. */
export interface SileroQueue {
  /** A window is ready for the next flush. */
  markQueued(): void;
  /** The stream closed; forget it. */
  remove(stream: SileroStream): void;
}

export class SileroStream implements VadStream {
  readonly kind = "silero";
  readonly #queue: SileroQueue;
  readonly #decider: SpeechDecider;
  readonly #onWindow: ((probability: number, windowEndMs: number) => void) | undefined;
  /** Ring of model inputs (context + window), filled in place as frames arrive. */
  readonly #slots = new Float32Array(QUEUE_WINDOWS * SILERO_INPUT_SAMPLES);
  readonly #slotEndMs = new Float64Array(QUEUE_WINDOWS);
  readonly #state = new Float32Array(SILERO_STATE_SIZE);
  #head = 0;
  #queued = 0;
  #filled = 0;
  #closed = false;
  #epoch = 0;
  #overruns = 0;

  constructor(queue: SileroQueue, config: VadConfig, callbacks: VadCallbacks) {
    this.#queue = queue;
    this.#decider = new SpeechDecider(config, callbacks, SILERO_TRAIL_MS);
    this.#onWindow = callbacks.onWindow?.bind(callbacks);
  }

  get speaking(): boolean {
    return this.#decider.speaking;
  }

  get queued(): number {
    return this.#queued;
  }

  /** Bumped by reset/close so a result already in flight is not applied to the new state. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Windows dropped because no flush came for `QUEUE_WINDOWS` windows. */
  get overruns(): number {
    return this.#overruns;
  }

  push(pcm8k: Int16Array, frameEndMs: number): void {
    if (this.#closed) return;
    const n = pcm8k.length;
    const slots = this.#slots;
    let base = this.#fillSlot() * SILERO_INPUT_SAMPLES + SILERO_CONTEXT_SAMPLES;
    for (let i = 0; i < n; i++) {
      slots[base + this.#filled] = (pcm8k[i] ?? 0) / 32768;
      if (++this.#filled === SILERO_WINDOW_SAMPLES) {
        this.#completeWindow(frameEndMs - (n - 1 - i) / SAMPLES_PER_MS);
        base = this.#fillSlot() * SILERO_INPUT_SAMPLES + SILERO_CONTEXT_SAMPLES;
      }
    }
  }

  reset(): void {
    this.#epoch++;
    this.#head = 0;
    this.#queued = 0;
    this.#filled = 0;
    this.#state.fill(0);
    this.#slots.fill(0, 0, SILERO_CONTEXT_SAMPLES);
    this.#decider.reset();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#epoch++;
    this.#queued = 0;
    this.#queue.remove(this);
  }

  /** Moves the oldest queued window into `input` at `b` and this stream's state into `state`; returns its end time. */
  takeWindow(input: Float32Array, state: Float32Array, b: number, batch: number): number {
    const at = this.#head * SILERO_INPUT_SAMPLES;
    input.set(this.#slots.subarray(at, at + SILERO_INPUT_SAMPLES), b * SILERO_INPUT_SAMPLES);
    state.set(this.#state.subarray(0, SILERO_STATE_UNITS), b * SILERO_STATE_UNITS);
    state.set(this.#state.subarray(SILERO_STATE_UNITS), (batch + b) * SILERO_STATE_UNITS);
    const endMs = this.#slotEndMs[this.#head] ?? 0;
    this.#head = (this.#head + 1) % QUEUE_WINDOWS;
    this.#queued--;
    return endMs;
  }

  /** Takes back the model's new state for batch row `b` and decides on its probability. */
  applyResult(probability: number, stateN: Float32Array, b: number, batch: number, endMs: number): void {
    this.#state.set(stateN.subarray(b * SILERO_STATE_UNITS, (b + 1) * SILERO_STATE_UNITS), 0);
    this.#state.set(stateN.subarray((batch + b) * SILERO_STATE_UNITS, (batch + b + 1) * SILERO_STATE_UNITS), SILERO_STATE_UNITS);
    this.#onWindow?.(probability, endMs);
    this.#decider.observe(probability, endMs - SILERO_WINDOW_MS, endMs);
  }

  #fillSlot(): number {
    return (this.#head + this.#queued) % QUEUE_WINDOWS;
  }

  #completeWindow(endMs: number): void {
    const slot = this.#fillSlot();
    this.#slotEndMs[slot] = endMs;
    this.#filled = 0;
    if (++this.#queued === QUEUE_WINDOWS) {
      // No flush for a long while: drop the oldest window rather than grow without bound.
      this.#head = (this.#head + 1) % QUEUE_WINDOWS;
      this.#queued--;
      this.#overruns++;
    }
    const from = slot * SILERO_INPUT_SAMPLES + SILERO_WINDOW_SAMPLES;
    // The tail of this window is the context of the next one.
    this.#slots.copyWithin(this.#fillSlot() * SILERO_INPUT_SAMPLES, from, from + SILERO_CONTEXT_SAMPLES);
    this.#queue.markQueued();
  }
}


/**
 * The fake OpenAI server's crude server VAD: μ-law in, per-20 ms RMS energy against a threshold.
 * Speech starts after `minSpeechMs` of loud frames and ends after `silenceMs` of quiet ones.
 */
import { MULAW_DECODE } from "../../../media/g711.js";

export interface EnergyVadOptions {
  /** RMS of linear PCM16 samples above which a frame counts as speech. */
  readonly thresholdRms: number;
  readonly minSpeechMs: number;
  readonly silenceMs: number;
}

export interface EnergyVadListener {
  /** `audioStartMs`: where the loud run began, on the input timeline. */
  speechStarted(audioStartMs: number): void;
  /** `audioEndMs`: the input position when silence was confirmed (includes the silence, like the API). */
  speechStopped(audioEndMs: number): void;
}

export const DEFAULT_VAD: EnergyVadOptions = Object.freeze({ thresholdRms: 500, minSpeechMs: 100, silenceMs: 500 });

const FRAME_MS = 20;
const FRAME_BYTES = 160;

export class EnergyVad {
  readonly #options: EnergyVadOptions;
  readonly #listener: EnergyVadListener;
  /** Leftover bytes of a partial frame, carried to the next push. */
  #pending = Buffer.alloc(0);
  #positionMs = 0;
  #speaking = false;
  #loudRunMs = 0;
  #loudRunStartMs = 0;
  #quietMs = 0;

  constructor(options: EnergyVadOptions, listener: EnergyVadListener) {
    this.#options = options;
    this.#listener = listener;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  push(mulaw: Buffer): void {
    const bytes = this.#pending.length === 0 ? mulaw : Buffer.concat([this.#pending, mulaw]);
    let offset = 0;
    for (; offset + FRAME_BYTES <= bytes.length; offset += FRAME_BYTES) {
      this.#frame(rms(bytes, offset));
    }
    this.#pending = Buffer.from(bytes.subarray(offset));
  }

  #frame(energy: number): void {
    const frameStartMs = this.#positionMs;
    this.#positionMs += FRAME_MS;
    if (energy >= this.#options.thresholdRms) {
      this.#quietMs = 0;
      if (this.#speaking) return;
      if (this.#loudRunMs === 0) this.#loudRunStartMs = frameStartMs;
      this.#loudRunMs += FRAME_MS;
      if (this.#loudRunMs >= this.#options.minSpeechMs) {
        this.#speaking = true;
        this.#listener.speechStarted(this.#loudRunStartMs);
      }
      return;
    }
    this.#loudRunMs = 0;
    if (!this.#speaking) return;
    this.#quietMs += FRAME_MS;
    if (this.#quietMs >= this.#options.silenceMs) {
      this.#speaking = false;
      this.#quietMs = 0;
      this.#listener.speechStopped(this.#positionMs);
    }
  }
}

function rms(bytes: Buffer, offset: number): number {
  let sum = 0;
  for (let i = offset; i < offset + FRAME_BYTES; i++) {
    const sample = MULAW_DECODE[bytes[i] ?? 0xff] ?? 0;
    sum += sample * sample;
  }
  return Math.sqrt(sum / FRAME_BYTES);
}

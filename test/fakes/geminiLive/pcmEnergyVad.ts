/**
 * The fake Gemini server's crude voice activity detection: PCM16 LE in (16 kHz on the Live wire),
 * per-20 ms RMS against a threshold. The same rule as the fake OpenAI server's μ-law VAD.
 */

export interface PcmVadOptions {
  /** RMS of PCM16 samples above which a frame counts as speech. */
  readonly thresholdRms: number;
  readonly minSpeechMs: number;
  readonly silenceMs: number;
}

export interface PcmVadListener {
  speechStarted(): void;
  speechStopped(): void;
}

export const DEFAULT_PCM_VAD: PcmVadOptions = Object.freeze({ thresholdRms: 500, minSpeechMs: 100, silenceMs: 500 });

const FRAME_MS = 20;

export class PcmEnergyVad {
  readonly #options: PcmVadOptions;
  readonly #listener: PcmVadListener;
  readonly #frameBytes: number;
  /** Leftover bytes of a partial frame, carried to the next push. */
  #pending = Buffer.alloc(0);
  #speaking = false;
  #loudMs = 0;
  #quietMs = 0;

  constructor(sampleRate: number, options: PcmVadOptions, listener: PcmVadListener) {
    this.#options = options;
    this.#listener = listener;
    this.#frameBytes = (sampleRate / 1000) * FRAME_MS * 2;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  push(pcm: Buffer): void {
    const bytes = this.#pending.length === 0 ? pcm : Buffer.concat([this.#pending, pcm]);
    let offset = 0;
    for (; offset + this.#frameBytes <= bytes.length; offset += this.#frameBytes) this.#frame(rms(bytes, offset, this.#frameBytes));
    this.#pending = Buffer.from(bytes.subarray(offset));
  }

  #frame(energy: number): void {
    if (energy >= this.#options.thresholdRms) {
      this.#quietMs = 0;
      if (this.#speaking) return;
      this.#loudMs += FRAME_MS;
      if (this.#loudMs >= this.#options.minSpeechMs) {
        this.#speaking = true;
        this.#listener.speechStarted();
      }
      return;
    }
    this.#loudMs = 0;
    if (!this.#speaking) return;
    this.#quietMs += FRAME_MS;
    if (this.#quietMs >= this.#options.silenceMs) {
      this.#speaking = false;
      this.#quietMs = 0;
      this.#listener.speechStopped();
    }
  }
}

function rms(bytes: Buffer, offset: number, length: number): number {
  let sum = 0;
  const samples = length / 2;
  for (let i = 0; i < samples; i++) {
    const sample = bytes.readInt16LE(offset + i * 2);
    sum += sample * sample;
  }
  return Math.sqrt(sum / samples);
}

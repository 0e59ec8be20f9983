/** Keeps the caller audio a scripted session received, up to a cap, for tests and demos to inspect. */
import { MULAW_BYTES_PER_MS, base64DecodedLength } from "../../media/audioFormat.js";

/** Two minutes is ample for any test; the cap keeps a long demo call from growing without bound. */
export const INPUT_AUDIO_CAP_MS = 120_000;
const INPUT_AUDIO_CAP_BYTES = INPUT_AUDIO_CAP_MS * MULAW_BYTES_PER_MS;
/** First allocation: two seconds, doubled as the call goes on. */
const INITIAL_BYTES = 2_000 * MULAW_BYTES_PER_MS;

export class InputRecorder {
  #buffer: Buffer = Buffer.alloc(0);
  #length = 0;

  /** Hot path: decodes base64 straight into the buffer; allocates only when it doubles. */
  append(payloadB64: string): void {
    const needed = this.#length + base64DecodedLength(payloadB64);
    if (needed > this.#buffer.length && this.#buffer.length < INPUT_AUDIO_CAP_BYTES) this.#grow(needed);
    // At the cap, `write` stores what fits and the rest of the call goes unrecorded.
    if (this.#length < this.#buffer.length) this.#length += this.#buffer.write(payloadB64, this.#length, "base64");
  }

  /** A copy of the first (up to) two minutes received, in order. */
  audio(): Buffer {
    return Buffer.from(this.#buffer.subarray(0, this.#length));
  }

  #grow(needed: number): void {
    let size = Math.max(this.#buffer.length, INITIAL_BYTES);
    while (size < needed) size *= 2;
    const grown = Buffer.alloc(Math.min(size, INPUT_AUDIO_CAP_BYTES));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

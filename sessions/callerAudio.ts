import { FRAME_BYTES, FRAME_MS } from "../media/audioFormat.js";
import { decodeMulawInto } from "../media/g711.js";
import type { CallerVad } from "./ports.js";

/** Twilio sends 160 bytes; a payload larger than this is cut here (the rest of it is ignored by the VAD). */
const MAX_PAYLOAD_BYTES = 4 * FRAME_BYTES;

/**
 * Feeds the caller's μ-law audio to its listeners (the local VAD, the answering-machine assist) in whole
 * 20 ms frames, whatever size Twilio's payloads are: base64 → bytes → PCM16 into buffers reused for every
 * frame, so the hot path allocates nothing. Listeners read the frame before `push` returns.
 */
export class CallerAudioTap {
  readonly #listeners: readonly CallerVad[];
  // Decoded payload bytes; anything beyond a frame's worth waits here for the next payload.
  readonly #bytes = Buffer.alloc(MAX_PAYLOAD_BYTES + FRAME_BYTES);
  readonly #pcm = new Int16Array(FRAME_BYTES);
  #held = 0;
  #streamMs = 0;

  readonly #frameView = this.#bytes.subarray(0, FRAME_BYTES);

  constructor(listeners: readonly CallerVad[]) {
    this.#listeners = listeners;
  }

  /** One frame of caller audio, base64 μ-law as Twilio sent it. */
  push(payloadB64: string): void {
    let n = this.#held + this.#bytes.write(payloadB64, this.#held, "base64");
    let at = 0;
    while (n - at >= FRAME_BYTES) {
      decodeMulawInto(at === 0 ? this.#frameView : this.#bytes.subarray(at, at + FRAME_BYTES), this.#pcm);
      this.#streamMs += FRAME_MS;
      for (let i = 0; i < this.#listeners.length; i++) this.#listeners[i]!.push(this.#pcm, this.#streamMs);
      at += FRAME_BYTES;
    }
    if (at > 0 && at < n) this.#bytes.copyWithin(0, at, n);
    n -= at;
    this.#held = n;
  }

  close(): void {
    for (const listener of this.#listeners) listener.close();
  }
}

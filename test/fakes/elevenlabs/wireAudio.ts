/**
 * The fake's audio edge: replies are scripted as μ-law 8 kHz and converted to the agent's output format;
 * caller audio arrives in the input format and is kept as μ-law 8 kHz for the VAD and for tests.
 * Crude on purpose (linear interpolation up, pair averaging down): a test double, not a resampler.
 */
import { MULAW_DECODE, linearToMulaw } from "../../../media/g711.js";

export type FakeAudioFormat = "ulaw_8000" | "pcm_16000";

/** Agent audio bytes per millisecond in each format. */
export function bytesPerMs(format: FakeAudioFormat): number {
  return format === "ulaw_8000" ? 8 : 32;
}

/** μ-law 8 kHz → the wire format, whole reply at once. */
export function mulawToWire(mulaw: Buffer, format: FakeAudioFormat): Buffer {
  if (format === "ulaw_8000") return mulaw;
  const out = Buffer.alloc(mulaw.length * 4);
  for (let i = 0; i < mulaw.length; i++) {
    const a = MULAW_DECODE[mulaw[i] ?? 0xff] ?? 0;
    const b = i + 1 < mulaw.length ? (MULAW_DECODE[mulaw[i + 1] ?? 0xff] ?? 0) : a;
    out.writeInt16LE(a, i * 4);
    out.writeInt16LE(Math.round((a + b) / 2), i * 4 + 2);
  }
  return out;
}

/** Caller audio in the input format → μ-law 8 kHz, chunk by chunk (a chunk may split a sample pair). */
export class CallerAudioDecoder {
  readonly #format: FakeAudioFormat;
  #carry = Buffer.alloc(0);

  constructor(format: FakeAudioFormat) {
    this.#format = format;
  }

  toMulaw(chunk: Buffer): Buffer {
    if (this.#format === "ulaw_8000") return chunk;
    const bytes = this.#carry.length === 0 ? chunk : Buffer.concat([this.#carry, chunk]);
    const pairs = Math.floor(bytes.length / 4);
    const out = Buffer.alloc(pairs);
    for (let i = 0; i < pairs; i++) {
      out[i] = linearToMulaw(Math.round((bytes.readInt16LE(i * 4) + bytes.readInt16LE(i * 4 + 2)) / 2));
    }
    this.#carry = Buffer.from(bytes.subarray(pairs * 4));
    return out;
  }
}

import { base64DecodedLength, sameFormat, type AudioFormat } from "./audioFormat.js";
import { decodeAlawInto, decodeMulawInto, encodeAlawInto, encodeMulawInto } from "./g711.js";
import { createResampler } from "./resample/index.js";
import type { Resampler } from "./resample/types.js";

/** Converts base64 audio from one format to another, chunk by chunk, keeping resampler state. */
export interface Transcoder {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  /** One chunk of base64 audio in `from` → the same stretch of time in `to`, base64. */
  convert(b64: string): string;
  /** Forget filter history, e.g. after a barge-in dropped the audio it belonged to. */
  reset(): void;
  close(): void;
}

export class TranscodeError extends Error {
  override readonly name = "TranscodeError";
  readonly code = "transcode_unsupported";
}

const NOTHING = (): void => {};

/** Identity when the formats match (μ-law passthrough costs nothing); a decode→resample→encode chain otherwise. */
export function createTranscoder(from: AudioFormat, to: AudioFormat): Transcoder {
  if (sameFormat(from, to)) return { from, to, convert: (b64) => b64, reset: NOTHING, close: NOTHING };
  return new PcmTranscoder(from, to);
}

/** PCM16 bytes are read and written in place as an Int16Array, which assumes a little-endian host. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Grow-only scratch buffers: after the first few chunks a call converts without allocating buffers. */
class PcmTranscoder implements Transcoder {
  readonly from: AudioFormat;
  readonly to: AudioFormat;
  readonly #resampler: Resampler | null;
  #in = Buffer.alloc(0);
  #pcm = new Int16Array(0);
  #out = Buffer.alloc(0);
  #carry = -1;

  constructor(from: AudioFormat, to: AudioFormat) {
    if (!LITTLE_ENDIAN && (from.encoding === "pcm16" || to.encoding === "pcm16")) {
      throw new TranscodeError("PCM16 transcoding needs a little-endian host");
    }
    this.from = from;
    this.to = to;
    this.#resampler = from.rate === to.rate ? null : createResampler(from.rate, to.rate);
  }

  convert(b64: string): string {
    const pcm = this.#decode(b64);
    const samples = this.#resampler === null ? pcm : this.#resampler.process(pcm);
    return this.#encode(samples);
  }

  reset(): void {
    this.#resampler?.reset();
    this.#carry = -1;
  }

  close(): void {
    this.#resampler?.close();
  }

  #decode(b64: string): Int16Array {
    const size = base64DecodedLength(b64) + 1;
    // Buffer.alloc never hands out a slice of the shared pool, so offset 0 keeps Int16 views aligned.
    if (this.#in.length < size) this.#in = Buffer.alloc(Math.max(size, this.#in.length * 2));
    const encoding = this.from.encoding;
    if (encoding === "pcm16") {
      // A chunk may end mid-sample: keep the odd byte for the next one.
      let at = 0;
      if (this.#carry >= 0) this.#in[at++] = this.#carry;
      const n = at + this.#in.write(b64, at, "base64");
      this.#carry = n & 1 ? (this.#in[n - 1] ?? 0) : -1;
      return new Int16Array(this.#in.buffer, this.#in.byteOffset, n >> 1);
    }
    const n = this.#in.write(b64, 0, "base64");
    if (this.#pcm.length < n) this.#pcm = new Int16Array(Math.max(n, this.#pcm.length * 2));
    const pcm = this.#pcm.subarray(0, n);
    if (encoding === "mulaw") decodeMulawInto(this.#in.subarray(0, n), pcm);
    else decodeAlawInto(this.#in.subarray(0, n), pcm);
    return pcm;
  }

  #encode(samples: Int16Array): string {
    const encoding = this.to.encoding;
    if (encoding === "pcm16") return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString("base64");
    if (this.#out.length < samples.length) this.#out = Buffer.alloc(Math.max(samples.length, this.#out.length * 2));
    if (encoding === "mulaw") encodeMulawInto(samples, this.#out);
    else encodeAlawInto(samples, this.#out);
    return this.#out.toString("base64", 0, samples.length);
  }
}

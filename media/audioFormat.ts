/** How a stream of audio bytes is encoded. Providers declare one for input and one for output. */
export type AudioEncoding = "mulaw" | "alaw" | "pcm16";

export interface AudioFormat {
  readonly encoding: AudioEncoding;
  /** Samples per second. */
  readonly rate: number;
}

/** Twilio Media Streams carry μ-law at 8 kHz, mono, both ways. */
export const MULAW_8K: AudioFormat = Object.freeze({ encoding: "mulaw", rate: 8000 });

/** μ-law 8 kHz: one byte per sample, 8 samples per millisecond. */
export const MULAW_BYTES_PER_MS = 8;

/** One Twilio frame: 20 ms, 160 μ-law bytes. */
export const FRAME_MS = 20;
export const FRAME_BYTES = FRAME_MS * MULAW_BYTES_PER_MS;

/** μ-law code for silence (positive zero). */
export const MULAW_SILENCE = 0xff;

export function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.encoding === b.encoding && a.rate === b.rate;
}

/** Bytes decoded from a base64 string of this length, without decoding it. */
export function base64DecodedLength(b64: string): number {
  const n = b64.length;
  if (n === 0) return 0;
  let pad = 0;
  if (b64.charCodeAt(n - 1) === 61 /* = */) pad++;
  if (n > 1 && b64.charCodeAt(n - 2) === 61) pad++;
  return ((n * 3) >> 2) - pad;
}

/** Milliseconds of μ-law 8 kHz audio in a base64 payload. */
export function mulawBase64Ms(b64: string): number {
  return base64DecodedLength(b64) / MULAW_BYTES_PER_MS;
}

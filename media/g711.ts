/**
 * G.711 μ-law and A-law codecs (ITU-T G.711). Both directions are table lookups: 256 entries to
 * decode, 65,536 (indexed by `sample & 0xffff`) to encode. The encode tables follow the `alawmulaw`
 * package's rounding bit for bit, so audio encoded here matches what the rest of the JS ecosystem
 * produces. Pure: no deps at runtime, no allocation per call; the tables cost ~130 KB and ~1 ms at load.
 */

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;
const ALAW_CLIP = 32635;

/** Reference μ-law expansion of one code to a 16-bit linear sample. */
function expandMulaw(code: number): number {
  const u = ~code & 0xff;
  const magnitude = (((u & 0x0f) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? MULAW_BIAS - magnitude : magnitude - MULAW_BIAS;
}

/** Reference A-law expansion of one code to a 16-bit linear sample. */
function expandAlaw(code: number): number {
  const a = code ^ 0x55;
  const segment = (a & 0x70) >> 4;
  let magnitude = (a & 0x0f) << 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

/** μ-law compression of one int16 sample: bias, then clip (alawmulaw's order), segment, mantissa. */
function compressMulaw(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = (sign !== 0 ? -sample : sample) + MULAW_BIAS;
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  // Segment = index of the top set bit of magnitude >> 7 (magnitude >= 0x84, so that is >= 1).
  const exponent = 31 - Math.clz32(magnitude >> 7);
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/**
 * A-law compression of one int16 sample in the 16-bit domain. Like alawmulaw (and unlike the Sun
 * reference, which uses -s-1), a negative sample's magnitude is -s; -32768 is taken as -32767.
 */
function compressAlaw(sample: number): number {
  const positive = sample >= 0;
  let magnitude = positive ? sample : sample === -32768 ? 32767 : -sample;
  if (magnitude > ALAW_CLIP) magnitude = ALAW_CLIP;
  let code: number;
  if (magnitude >= 256) {
    const exponent = 32 - Math.clz32(magnitude >> 8);
    code = (exponent << 4) | ((magnitude >> (exponent + 3)) & 0x0f);
  } else {
    code = magnitude >> 4;
  }
  // A-law sets the sign bit for non-negative values and inverts the even bits (0x55) on the wire.
  return code ^ (positive ? 0xd5 : 0x55);
}

function buildDecodeTable(expand: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) table[code] = expand(code);
  return table;
}

function buildEncodeTable(compress: (sample: number) => number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let sample = -32768; sample <= 32767; sample++) table[sample & 0xffff] = compress(sample);
  return table;
}

/** μ-law code → linear PCM16 sample. */
export const MULAW_DECODE: Int16Array = buildDecodeTable(expandMulaw);

/** A-law code → linear PCM16 sample. */
export const ALAW_DECODE: Int16Array = buildDecodeTable(expandAlaw);

/** `sample & 0xffff` → μ-law code, for every int16 sample. */
export const MULAW_ENCODE: Uint8Array = buildEncodeTable(compressMulaw);

/** `sample & 0xffff` → A-law code, for every int16 sample. */
export const ALAW_ENCODE: Uint8Array = buildEncodeTable(compressAlaw);

/** Decodes one μ-law byte (only the low 8 bits are used). */
export function mulawToLinear(code: number): number {
  // The mask keeps the lookup in range, so the `?? 0` never fires; it only satisfies the index check.
  return MULAW_DECODE[code & 0xff] ?? 0;
}

/** Decodes one A-law byte (only the low 8 bits are used). */
export function alawToLinear(code: number): number {
  return ALAW_DECODE[code & 0xff] ?? 0;
}

function clampInt16(sample: number): number {
  if (sample > 32767) return 32767;
  if (sample < -32768) return -32768;
  return sample | 0;
}

/** Encodes one linear PCM16 sample (clamped to int16) to a μ-law byte. */
export function linearToMulaw(sample: number): number {
  return MULAW_ENCODE[clampInt16(sample) & 0xffff] ?? 0xff;
}

/** Encodes one linear PCM16 sample (clamped to int16) to an A-law byte. */
export function linearToAlaw(sample: number): number {
  return ALAW_ENCODE[clampInt16(sample) & 0xffff] ?? 0xd5;
}

// The bulk functions below convert min(src, dst) samples and return that count. The `?? 0` in their
// loops never fires (indices are in range by construction); it only satisfies the index check.

/** Decodes `src` μ-law bytes into `dst` without allocating. */
export function decodeMulawInto(src: Uint8Array, dst: Int16Array): number {
  const n = Math.min(src.length, dst.length);
  const table = MULAW_DECODE;
  for (let i = 0; i < n; i++) dst[i] = table[src[i] ?? 0] ?? 0;
  return n;
}

/** Decodes `src` A-law bytes into `dst` without allocating. */
export function decodeAlawInto(src: Uint8Array, dst: Int16Array): number {
  const n = Math.min(src.length, dst.length);
  const table = ALAW_DECODE;
  for (let i = 0; i < n; i++) dst[i] = table[src[i] ?? 0] ?? 0;
  return n;
}

/** Encodes `src` PCM16 samples into `dst` μ-law bytes without allocating. */
export function encodeMulawInto(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length);
  const table = MULAW_ENCODE;
  for (let i = 0; i < n; i++) dst[i] = table[(src[i] ?? 0) & 0xffff] ?? 0;
  return n;
}

/** Encodes `src` PCM16 samples into `dst` A-law bytes without allocating. */
export function encodeAlawInto(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length);
  const table = ALAW_ENCODE;
  for (let i = 0; i < n; i++) dst[i] = table[(src[i] ?? 0) & 0xffff] ?? 0;
  return n;
}

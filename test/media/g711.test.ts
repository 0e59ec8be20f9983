import alawmulaw from "alawmulaw";
import { describe, expect, it } from "vitest";
import {
  ALAW_DECODE,
  ALAW_ENCODE,
  MULAW_DECODE,
  MULAW_ENCODE,
  alawToLinear,
  decodeAlawInto,
  decodeMulawInto,
  encodeAlawInto,
  encodeMulawInto,
  linearToAlaw,
  linearToMulaw,
  mulawToLinear,
} from "../../media/g711.js";

// Textbook G.711 expansions, written independently of the implementation's bit tricks.
function ituMulaw(code: number): number {
  const inverted = ~code & 0xff;
  const exponent = (inverted >> 4) & 0x07;
  const mantissa = inverted & 0x0f;
  const magnitude = 4 * ((2 * mantissa + 33) * 2 ** exponent - 33);
  // Int16Array has no -0: code 0x7F (negative zero) reads back as plain 0.
  return inverted & 0x80 ? -magnitude + 0 : magnitude;
}

function ituAlaw(code: number): number {
  const a = code ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? 8 * (2 * mantissa + 1) : (2 * mantissa + 33) * 2 ** (exponent + 2);
  return a & 0x80 ? magnitude : -magnitude;
}

const ALL_CODES = Array.from({ length: 256 }, (_, i) => i);

describe("μ-law decode", () => {
  it("matches the G.711 formula for all 256 codes", () => {
    expect(MULAW_DECODE).toHaveLength(256);
    for (const code of ALL_CODES) {
      expect(MULAW_DECODE[code], `code 0x${code.toString(16)}`).toBe(ituMulaw(code));
      expect(mulawToLinear(code)).toBe(ituMulaw(code));
    }
  });

  it("knows the landmark codes", () => {
    expect(mulawToLinear(0xff)).toBe(0);
    expect(mulawToLinear(0x7f)).toBe(0);
    expect(mulawToLinear(0x00)).toBe(-32124);
    expect(mulawToLinear(0x80)).toBe(32124);
  });

  it("decodeMulawInto fills the destination in place", () => {
    const src = Uint8Array.from(ALL_CODES);
    const dst = new Int16Array(256);
    expect(decodeMulawInto(src, dst)).toBe(256);
    for (const code of ALL_CODES) expect(dst[code]).toBe(ituMulaw(code));
    const short = new Int16Array(10);
    expect(decodeMulawInto(src, short)).toBe(10);
  });
});

describe("μ-law encode", () => {
  it("round-trips every code except negative zero", () => {
    for (const code of ALL_CODES) {
      const expected = code === 0x7f ? 0xff : code;
      expect(linearToMulaw(mulawToLinear(code)), `code 0x${code.toString(16)}`).toBe(expected);
    }
  });

  it("stays within half a quantisation step for every int16 sample", () => {
    const outliers: number[] = [];
    for (let s = -32768; s <= 32767; s++) {
      const code = linearToMulaw(s);
      const exponent = ((~code & 0xff) >> 4) & 0x07;
      const halfStep = 2 ** (exponent + 2);
      const clipped = Math.max(-32635, Math.min(32635, s));
      if (Math.abs(mulawToLinear(code) - clipped) > halfStep + 4) outliers.push(s);
    }
    expect(outliers).toEqual([]);
  });

  it("is monotonic and clamps out-of-range input", () => {
    let previous = -Infinity;
    for (let s = -32768; s <= 32767; s += 7) {
      const decoded = mulawToLinear(linearToMulaw(s));
      expect(decoded >= previous).toBe(true);
      previous = decoded;
    }
    expect(linearToMulaw(100_000)).toBe(0x80);
    expect(linearToMulaw(-100_000)).toBe(0x00);
    expect(linearToMulaw(0)).toBe(0xff);
  });

  it("encodeMulawInto matches the per-sample encoder", () => {
    const src = Int16Array.from([0, 1000, -1000, 32767, -32768]);
    const dst = new Uint8Array(5);
    encodeMulawInto(src, dst);
    expect(Array.from(dst)).toEqual(Array.from(src, (s) => linearToMulaw(s)));
  });
});

describe("A-law", () => {
  it("decodes all 256 codes per the G.711 formula", () => {
    expect(ALAW_DECODE).toHaveLength(256);
    for (const code of ALL_CODES) {
      expect(ALAW_DECODE[code], `code 0x${code.toString(16)}`).toBe(ituAlaw(code));
      expect(alawToLinear(code)).toBe(ituAlaw(code));
    }
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0x55)).toBe(-8);
    expect(alawToLinear(0xaa)).toBe(32256);
    expect(alawToLinear(0x2a)).toBe(-32256);
  });

  it("round-trips every code and is monotonic", () => {
    for (const code of ALL_CODES) expect(linearToAlaw(alawToLinear(code))).toBe(code);
    let previous = -Infinity;
    for (let s = -32768; s <= 32767; s += 5) {
      const decoded = alawToLinear(linearToAlaw(s));
      expect(decoded >= previous).toBe(true);
      previous = decoded;
    }
  });
});

// Every int16 sample, in order from -32768, and every code byte.
const ALL_SAMPLES = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
const ALL_CODE_BYTES = Uint8Array.from(ALL_CODES);

/** Indices where two equally long sequences differ (first few), so a failure names the samples. */
function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>, label: (i: number) => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < expected.length && out.length < 8; i++) if (actual[i] !== expected[i]) out.push(label(i));
  return out;
}

describe("bit-exact with alawmulaw", () => {
  // alawmulaw's μ-law encodeSample returns ~(...) unmasked (a negative number); the wire byte is & 0xff.
  const refMulaw = Uint8Array.from(ALL_SAMPLES, (s) => alawmulaw.mulaw.encodeSample(s) & 0xff);
  const refAlaw = Uint8Array.from(ALL_SAMPLES, (s) => alawmulaw.alaw.encodeSample(s) & 0xff);
  const sampleAt = (i: number): number => ALL_SAMPLES[i] ?? NaN;

  it("μ-law encode table, encodeMulawInto and linearToMulaw agree with it for all 65,536 samples", () => {
    expect(MULAW_ENCODE).toHaveLength(65536);
    const viaTable = Uint8Array.from(ALL_SAMPLES, (s) => MULAW_ENCODE[s & 0xffff] ?? -1);
    const viaInto = new Uint8Array(65536);
    expect(encodeMulawInto(ALL_SAMPLES, viaInto)).toBe(65536);
    const viaSample = Uint8Array.from(ALL_SAMPLES, (s) => linearToMulaw(s));
    expect(mismatches(viaTable, refMulaw, sampleAt)).toEqual([]);
    expect(mismatches(viaInto, refMulaw, sampleAt)).toEqual([]);
    expect(mismatches(viaSample, refMulaw, sampleAt)).toEqual([]);
    expect(mismatches(viaInto, alawmulaw.mulaw.encode(ALL_SAMPLES), sampleAt)).toEqual([]);
  });

  it("A-law encode table, encodeAlawInto and linearToAlaw agree with it for all 65,536 samples", () => {
    expect(ALAW_ENCODE).toHaveLength(65536);
    const viaTable = Uint8Array.from(ALL_SAMPLES, (s) => ALAW_ENCODE[s & 0xffff] ?? -1);
    const viaInto = new Uint8Array(65536);
    expect(encodeAlawInto(ALL_SAMPLES, viaInto)).toBe(65536);
    const viaSample = Uint8Array.from(ALL_SAMPLES, (s) => linearToAlaw(s));
    expect(mismatches(viaTable, refAlaw, sampleAt)).toEqual([]);
    expect(mismatches(viaInto, refAlaw, sampleAt)).toEqual([]);
    expect(mismatches(viaSample, refAlaw, sampleAt)).toEqual([]);
    expect(mismatches(viaInto, alawmulaw.alaw.encode(ALL_SAMPLES), sampleAt)).toEqual([]);
  });

  it("decodes all 256 μ-law and A-law codes exactly as it does", () => {
    const mu = new Int16Array(256);
    const a = new Int16Array(256);
    expect(decodeMulawInto(ALL_CODE_BYTES, mu)).toBe(256);
    expect(decodeAlawInto(ALL_CODE_BYTES, a)).toBe(256);
    const code = (i: number): number => i;
    expect(mismatches(mu, alawmulaw.mulaw.decode(ALL_CODE_BYTES), code)).toEqual([]);
    expect(mismatches(a, alawmulaw.alaw.decode(ALL_CODE_BYTES), code)).toEqual([]);
    expect(mismatches(MULAW_DECODE, alawmulaw.mulaw.decode(ALL_CODE_BYTES), code)).toEqual([]);
    expect(mismatches(ALAW_DECODE, alawmulaw.alaw.decode(ALL_CODE_BYTES), code)).toEqual([]);
  });
});

describe("bulk A-law and partial buffers", () => {
  it("decodeAlawInto fills the destination in place and stops at the shorter buffer", () => {
    const dst = new Int16Array(256);
    expect(decodeAlawInto(ALL_CODE_BYTES, dst)).toBe(256);
    for (const code of ALL_CODES) expect(dst[code]).toBe(ituAlaw(code));
    expect(decodeAlawInto(ALL_CODE_BYTES, new Int16Array(10))).toBe(10);
    expect(decodeAlawInto(ALL_CODE_BYTES.subarray(0, 3), dst)).toBe(3);
  });

  it("the encoders write only min(src, dst) bytes and leave the rest alone", () => {
    const src = Int16Array.from([0, 1000, -1000, 32767, -32768]);
    for (const encode of [encodeMulawInto, encodeAlawInto]) {
      const dst = new Uint8Array(8).fill(0x11);
      expect(encode(src, dst)).toBe(5);
      expect(Array.from(dst.subarray(5))).toEqual([0x11, 0x11, 0x11]);
      expect(encode(src, dst.subarray(0, 2))).toBe(2);
    }
  });

  it("per-sample A-law clamps out-of-range input like int16 extremes", () => {
    expect(linearToAlaw(100_000)).toBe(linearToAlaw(32767));
    expect(linearToAlaw(-100_000)).toBe(linearToAlaw(-32768));
    expect(linearToAlaw(0)).toBe(0xd5);
  });
});

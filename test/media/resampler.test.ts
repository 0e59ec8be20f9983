import { beforeAll, describe, expect, it } from "vitest";
import { RESAMPLE_PAIRS, createResampler, initResamplers, type Resampler, type ResamplerEngine } from "../../media/resample/index.js";
import { PolyphaseResampler } from "../../media/resample/polyphase.js";
import { SpeexResampler } from "../../media/resample/speex.js";

const PAIRS = RESAMPLE_PAIRS;
const ENGINES: readonly ResamplerEngine[] = ["speex", "polyphase"];

const FULL_SCALE = 32767;
// "1 kHz": 997 Hz as in AES17, so the tone is not commensurate with the sample rates; an exact 1 kHz
// repeats every 8 samples at 8 kHz, its rounding error becomes periodic, and SINAD reads ~8 dB too kind.
const TEST_TONE_HZ = 997;
/** Skipped at the start of every measurement: far more than any filter's delay (≤ 3 ms here). */
const SETTLE_S = 0.05;

function tone(rate: number, hz: number, amplitude: number, seconds: number): Int16Array {
  return Int16Array.from({ length: Math.round(rate * seconds) }, (_, n) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / rate)));
}

/** Deterministic broadband test signal (LCG noise plus a tone), for the chunking tests. */
function noisySignal(rate: number, seconds: number): Int16Array {
  let seed = 12345;
  return Int16Array.from({ length: Math.round(rate * seconds) }, (_, n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.round(((seed / 2 ** 32) * 2 - 1) * 12000 + 8000 * Math.sin((2 * Math.PI * 440 * n) / rate));
  });
}

/** Feeds `input` in chunks of the given sizes (cycled) and concatenates the outputs. */
function runChunked(resampler: Resampler, input: Int16Array, sizes: readonly number[]): Int16Array {
  const parts: Int16Array[] = [];
  for (let at = 0, i = 0; at < input.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    parts.push(Int16Array.from(resampler.process(input.subarray(at, at + size))));
    at += size;
  }
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Index of the first sample where two outputs differ (or their lengths do), -1 if identical. */
function firstDifference(a: Int16Array, b: Int16Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function frameSize(rate: number): number {
  return rate / 50;
}

/** The steady middle of an output: after the filter has settled, before the end. */
function steady(output: Int16Array, rate: number): Int16Array {
  return output.subarray(Math.round(rate * SETTLE_S), output.length - Math.round(rate * SETTLE_S));
}

/** Least-squares fit of a sinusoid at a known frequency; returns the fitted tone's and the residual's energy. */
function fitTone(y: Int16Array, rate: number, hz: number): { signal: number; residual: number } {
  const w = (2 * Math.PI * hz) / rate;
  let cc = 0;
  let ss = 0;
  let cs = 0;
  let yc = 0;
  let ys = 0;
  y.forEach((v, n) => {
    const c = Math.cos(w * n);
    const s = Math.sin(w * n);
    cc += c * c;
    ss += s * s;
    cs += c * s;
    yc += v * c;
    ys += v * s;
  });
  const det = cc * ss - cs * cs;
  const a = (yc * ss - ys * cs) / det;
  const b = (ys * cc - yc * cs) / det;
  let signal = 0;
  let residual = 0;
  y.forEach((v, n) => {
    const fit = a * Math.cos(w * n) + b * Math.sin(w * n);
    signal += fit * fit;
    residual += (v - fit) ** 2;
  });
  return { signal, residual };
}

function db(ratio: number): number {
  return 10 * Math.log10(ratio);
}

/** SINAD of a 997 Hz tone at -6 dBFS, fed in 20 ms chunks. */
function sinadDb(resampler: Resampler): number {
  const { inRate, outRate } = resampler;
  const output = runChunked(resampler, tone(inRate, TEST_TONE_HZ, FULL_SCALE / 2, 1), [frameSize(inRate)]);
  const { signal, residual } = fitTone(steady(output, outRate), outRate, TEST_TONE_HZ);
  return db(signal / residual);
}

/**
 * What escapes the filter, in dB relative to a full-scale input tone. Going down: a tone at 1.25× the
 * target Nyquist (5 kHz for 16 → 8), where everything that comes out is alias. Going up: a tone at
 * 0.73× the source Nyquist, whose first image lands at 1.27× it; everything but the tone is image.
 */
function leakageDb(resampler: Resampler): number {
  const { inRate, outRate } = resampler;
  const nyquist = Math.min(inRate, outRate) / 2;
  const amplitude = 0.99 * FULL_SCALE;
  const inputPower = amplitude ** 2 / 2;
  const hz = outRate < inRate ? 1.25 * nyquist : 0.73 * nyquist;
  const output = steady(runChunked(resampler, tone(inRate, hz, amplitude, 1), [frameSize(inRate)]), outRate);
  if (outRate < inRate) {
    const power = output.reduce((sum, v) => sum + v * v, 0) / output.length;
    return db(Math.max(power, 1e-12) / inputPower);
  }
  return db(Math.max(fitTone(output, outRate, hz).residual / output.length, 1e-12) / inputPower);
}

describe("createResampler before initResamplers()", () => {
  it("refuses the speex engine with a message naming the fix, and serves polyphase without init", () => {
    expect(() => createResampler(8000, 16000)).toThrow(/initResamplers/);
    expect(createResampler(8000, 16000, { engine: "polyphase" }).process(new Int16Array(160))).toHaveLength(320);
  });
});

describe("createResampler", () => {
  beforeAll(async () => {
    await initResamplers();
  });

  it("defaults to speex and builds the engine asked for", () => {
    expect(createResampler(8000, 16000)).toBeInstanceOf(SpeexResampler);
    expect(createResampler(24000, 8000, { engine: "polyphase" })).toBeInstanceOf(PolyphaseResampler);
  });

  it("hands equal-rate audio back untouched", () => {
    const frame = noisySignal(8000, 0.02);
    const resampler = createResampler(8000, 8000);
    expect(resampler.process(frame)).toBe(frame);
  });

  it("rejects rates that are not positive integers", () => {
    expect(() => createResampler(0, 8000)).toThrow(RangeError);
    expect(() => createResampler(8000, 22050.5)).toThrow(RangeError);
  });

  it("a closed speex resampler refuses work instead of touching freed memory", () => {
    const resampler = createResampler(8000, 16000);
    resampler.close();
    resampler.close();
    expect(() => resampler.process(new Int16Array(160))).toThrow(/close/);
  });
});

describe.each(ENGINES)("%s resampler", (engine) => {
  beforeAll(async () => {
    await initResamplers();
  });

  describe.each(PAIRS)("%i → %i Hz", (inRate, outRate) => {
    const make = (): Resampler => createResampler(inRate, outRate, { engine });

    it("keeps a 997 Hz tone at SINAD ≥ 80 dB", () => {
      expect(sinadDb(make())).toBeGreaterThanOrEqual(80);
    });

    it("lets nothing beyond the lower Nyquist through above -70 dB of full scale", () => {
      expect(leakageDb(make())).toBeLessThanOrEqual(-70);
    });

    it("turns every 20 ms frame into exactly 20 ms", () => {
      const resampler = make();
      const frame = noisySignal(inRate, 0.02);
      for (let i = 0; i < 10; i++) expect(resampler.process(frame)).toHaveLength(frameSize(outRate));
    });

    it("gives bit-identical output in 20 ms chunks, in ragged chunks and in one piece", () => {
      const input = noisySignal(inRate, 0.5);
      const whole = Int16Array.from(make().process(input));
      expect(whole).toHaveLength((input.length * outRate) / inRate);
      expect(firstDifference(runChunked(make(), input, [frameSize(inRate)]), whole)).toBe(-1);
      expect(firstDifference(runChunked(make(), input, [1, 7, 0, 37, frameSize(inRate) + 3, 2, 1000]), whole)).toBe(-1);
    });

    it("reset() forgets the past: afterwards it matches a fresh resampler", () => {
      const resampler = make();
      runChunked(resampler, noisySignal(inRate, 0.1), [frameSize(inRate) - 1]);
      resampler.reset();
      const input = noisySignal(inRate, 0.1);
      const fresh = runChunked(make(), input, [frameSize(inRate)]);
      expect(firstDifference(runChunked(resampler, input, [frameSize(inRate)]), fresh)).toBe(-1);
    });

    it("reuses its output buffer between calls", () => {
      const resampler = make();
      const frame = noisySignal(inRate, 0.02);
      const first = resampler.process(frame);
      expect(resampler.process(frame).buffer).toBe(first.buffer);
    });
  });
});

/**
 * Rational polyphase FIR resampler (up by L, down by M) with a Kaiser-windowed-sinc low-pass.
 * All filter design happens in the constructor; `process` is a plain multiply-accumulate over
 * Float64 typed arrays with no allocation once its buffers have grown to the chunk size in use.
 * Every output sample depends only on the input samples, never on how they were chunked, so chunked
 * output is bit-identical to one-piece output.
 */
import type { Resampler } from "./types.js";

export interface PolyphaseOptions {
  /** Stopband attenuation of the prototype low-pass, in dB. */
  readonly attenuationDb?: number;
  /** End of the flat passband, as a fraction of the lower of the two Nyquist frequencies. */
  readonly passbandEdge?: number;
  /**
   * Start of the stopband, same unit. Above 1 on purpose: what lies between 1 and this edge aliases
   * only into (2 - edge, 1), above the passband, so the passband itself stays clean.
   */
  readonly stopbandEdge?: number;
}

/**
 * 0.85 of 4 kHz is the 3.4 kHz telephone band; the stopband from 1.2 × Nyquist keeps tones from
 * 1.25 × Nyquist ≥ 90 dB down. Chosen by measurement (docs/PERFORMANCE.md).
 */
export const POLYPHASE_DEFAULTS: Required<PolyphaseOptions> = Object.freeze({
  attenuationDb: 90,
  passbandEdge: 0.85,
  stopbandEdge: 1.2,
});

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Zeroth-order modified Bessel function of the first kind, by its power series (Kaiser window). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50 && term > 1e-12 * sum; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}

/** Kaiser's empirical β for a given stopband attenuation. */
function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

/**
 * Windowed-sinc low-pass of `length` taps at `rate`, cut at `cutoffHz` (centre of the transition
 * band), scaled so the taps sum to `gain`.
 */
function kaiserLowpass(length: number, rate: number, cutoffHz: number, attenuationDb: number, gain: number): Float64Array {
  const taps = new Float64Array(length);
  const beta = kaiserBeta(attenuationDb);
  const centre = (length - 1) / 2;
  const fc = cutoffHz / rate;
  const i0Beta = besselI0(beta);
  let sum = 0;
  for (let n = 0; n < length; n++) {
    const t = n - centre;
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    const r = centre === 0 ? 0 : t / centre;
    const tap = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta);
    taps[n] = tap;
    sum += tap;
  }
  for (let n = 0; n < length; n++) taps[n] = ((taps[n] ?? 0) * gain) / sum;
  return taps;
}

export class PolyphaseResampler implements Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Taps applied per output sample. */
  readonly tapsPerPhase: number;
  /** Group delay of the filter, in output samples. */
  readonly delaySamples: number;
  readonly #up: number;
  readonly #down: number;
  /** Per phase, its taps in input order (oldest first), so the inner loop walks both arrays forward. */
  readonly #coeffs: Float64Array;
  /** For each phase: the phase of the next output, and how many input samples it moves on. */
  readonly #nextPhase: Int32Array;
  readonly #advance: Int32Array;
  /** `tapsPerPhase - 1` samples of history, then the current chunk, as Float64. */
  #history: Float64Array;
  #output: Int16Array;
  #view: Int16Array;
  #phase = 0;
  /** Index, relative to the next chunk's first sample, of the newest input the next output uses. */
  #position = 0;

  constructor(inRate: number, outRate: number, options: PolyphaseOptions = {}) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`sample rates must be positive integers, got ${inRate} → ${outRate}`);
    }
    const { attenuationDb, passbandEdge, stopbandEdge } = { ...POLYPHASE_DEFAULTS, ...options };
    this.inRate = inRate;
    this.outRate = outRate;
    const divisor = gcd(inRate, outRate);
    const up = outRate / divisor;
    const down = inRate / divisor;
    this.#up = up;
    this.#down = down;

    // Design at the upsampled rate; band edges are relative to the lower Nyquist.
    const protoRate = inRate * up;
    const nyquist = Math.min(inRate, outRate) / 2;
    const transition = ((stopbandEdge - passbandEdge) * nyquist) / protoRate;
    const needed = Math.ceil((attenuationDb - 7.95) / (14.36 * transition)) + 1; // Kaiser's length estimate
    const perPhase = Math.ceil(needed / up);
    const prototype = kaiserLowpass(perPhase * up, protoRate, ((passbandEdge + stopbandEdge) / 2) * nyquist, attenuationDb, up);

    this.tapsPerPhase = perPhase;
    this.delaySamples = (perPhase * up - 1) / 2 / down;
    this.#coeffs = new Float64Array(perPhase * up);
    for (let phase = 0; phase < up; phase++) {
      for (let k = 0; k < perPhase; k++) this.#coeffs[phase * perPhase + (perPhase - 1 - k)] = prototype[phase + k * up] ?? 0;
    }
    this.#nextPhase = new Int32Array(up);
    this.#advance = new Int32Array(up);
    for (let phase = 0; phase < up; phase++) {
      this.#nextPhase[phase] = (phase + down) % up;
      this.#advance[phase] = Math.floor((phase + down) / up);
    }
    // Room for a 20 ms chunk; larger chunks grow the buffers once.
    const frame = Math.ceil(inRate / 50);
    this.#history = new Float64Array(perPhase - 1 + frame);
    this.#output = new Int16Array(this.#maxOutput(frame));
    this.#view = this.#output.subarray(0, 0);
  }

  #maxOutput(inputLength: number): number {
    return Math.ceil((inputLength * this.#up) / this.#down) + 1;
  }

  process(input: Int16Array): Int16Array {
    const length = input.length;
    const keep = this.tapsPerPhase - 1;
    if (this.#history.length < keep + length) {
      const grown = new Float64Array(keep + length);
      grown.set(this.#history.subarray(0, keep));
      this.#history = grown;
    }
    const maxOutput = this.#maxOutput(length);
    if (this.#output.length < maxOutput) this.#output = new Int16Array(maxOutput);
    const history = this.#history;
    for (let i = 0; i < length; i++) history[keep + i] = input[i] ?? 0;

    const produced = this.#run(length);
    history.copyWithin(0, length, length + keep);
    // Steady 20 ms frames give the same length every call: reuse the view instead of making one.
    const output = this.#output;
    if (this.#view.length !== produced || this.#view.buffer !== output.buffer) this.#view = output.subarray(0, produced);
    return this.#view;
  }

  /** Computes every output whose newest input sample is in the current chunk; returns the count. */
  #run(length: number): number {
    const history = this.#history;
    const coeffs = this.#coeffs;
    const nextPhase = this.#nextPhase;
    const advance = this.#advance;
    const output = this.#output;
    const taps = this.tapsPerPhase;
    let phase = this.#phase;
    let position = this.#position;
    let produced = 0;
    while (position < length) {
      // Window: history[position .. position + taps - 1], newest sample last. Four accumulators
      // break the add dependency chain (~1.4× faster); the order is fixed, so results stay exact.
      const base = phase * taps;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let k = 0;
      for (; k + 3 < taps; k += 4) {
        a0 += (coeffs[base + k] ?? 0) * (history[position + k] ?? 0);
        a1 += (coeffs[base + k + 1] ?? 0) * (history[position + k + 1] ?? 0);
        a2 += (coeffs[base + k + 2] ?? 0) * (history[position + k + 2] ?? 0);
        a3 += (coeffs[base + k + 3] ?? 0) * (history[position + k + 3] ?? 0);
      }
      for (; k < taps; k++) a0 += (coeffs[base + k] ?? 0) * (history[position + k] ?? 0);
      const rounded = Math.round(a0 + a1 + (a2 + a3));
      output[produced++] = rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded;
      position += advance[phase] ?? 0;
      phase = nextPhase[phase] ?? 0;
    }
    this.#phase = phase;
    this.#position = position - length;
    return produced;
  }

  reset(): void {
    this.#history.fill(0);
    this.#phase = 0;
    this.#position = 0;
  }

  /** Nothing to free: the buffers are ordinary garbage-collected memory. */
  close(): void {}
}

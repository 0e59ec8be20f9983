/**
 * Voicemail beep detector: finds one steady tone (by default 400–2000 Hz, at least 150 ms) in 8 kHz
 * PCM16 and reports it when it stops, so the answering-machine logic can start the message right after.
 *
 * Method. Audio is cut into 20 ms blocks, whatever the push sizes. Each block is Hann-windowed and a
 * bank of Goertzel filters 25 Hz apart measures the band. A block is tonal when it is loud enough, its
 * strongest bin holds most of the block's energy (speech spreads energy over many harmonics, noise over
 * every bin), no second peak in the band comes near it (DTMF is two tones at once) and the peak lies in
 * range. Consecutive tonal blocks at a steady frequency form a tone (speech pitch moves); when the tone
 * stops, its edges are refined to 5 ms from quarter-block energies and it is reported if it lasted long
 * enough but not so long that it is a dial, ringback or hold tone.
 *
 * Why Goertzel rather than an FFT: we need ~65 bins of one band, not every bin of the spectrum; 160
 * samples is not a power of two; and the range and spacing stay plain options. Cost is bins × samples
 * (67 × 160 ≈ 11k multiply-adds per block, four bins per pass), skipped below the level floor.
 */

/** A detected beep: when it started and stopped (ms, on the caller's `frameEndMs` clock) and its pitch. */
export interface Beep {
  startMs: number;
  endMs: number;
  hz: number;
}

export interface BeepDetectorOptions {
  /** Called once per beep, as soon as the block after its last tonal block shows it has stopped. */
  onBeep: (beep: Beep) => void;
  /** Shortest tone that counts as a beep (measured to 5 ms). Default 150. */
  minDurationMs?: number;
  /** Longer steady tones are line signals (dial, ringback, hold), not beeps. Default 3000. */
  maxDurationMs?: number;
  /** Frequency range of a beep, Hz. Defaults 400 and 2000. */
  minHz?: number;
  maxHz?: number;
  /** Quietest block considered, dBFS (0 dBFS = a full-scale sine). Default -40. */
  minLevelDbfs?: number;
  /** Share of a block's energy the peak must hold (0–1). Default 0.8: a pure tone scores ≥ 0.92. */
  minTonality?: number;
  /** How far a block's pitch may stray from the tone's mean so far, Hz. Default 20. */
  maxDriftHz?: number;
}

const SAMPLE_RATE = 8000;
const BLOCK = 160;
const BLOCK_MS = (BLOCK * 1000) / SAMPLE_RATE;
const QUARTERS = 4;
const QUARTER = BLOCK / QUARTERS;
const QUARTER_MS = BLOCK_MS / QUARTERS;
/** Hann scalloping between bins 25 Hz apart costs at most 8% of a tone's power. */
const BIN_SPACING_HZ = 25;
/** The Hann main lobe of a 20 ms block is ±100 Hz; bins closer than this to the peak belong to it. */
const LOBE_HZ = 150;
/** A second peak above -18 dB of the first means two tones: DTMF twist is at most 8 dB. */
const MAX_RIVAL_RATIO = 10 ** (-18 / 10);
/** A quarter-block holds tone when its energy is at least half the tone's: edges to ±2.5 ms. */
const EDGE_RATIO = 0.5;
/** Keeps log() finite on an all-zero bin during interpolation. */
const TINY = 1e-30;

export class BeepDetector {
  readonly #onBeep: (beep: Beep) => void;
  readonly #minDurationMs: number;
  readonly #maxDurationMs: number;
  readonly #minHz: number;
  readonly #maxHz: number;
  readonly #minPower: number;
  readonly #minTonality: number;
  readonly #maxDriftHz: number;

  // Set up once: window, bank frequencies and Goertzel coefficients, and every per-block buffer.
  readonly #window = new Float64Array(BLOCK);
  readonly #sumW: number;
  readonly #sumW2: number;
  readonly #bankHz: Float64Array;
  readonly #coeff: Float64Array;
  readonly #power: Float64Array;
  readonly #block = new Float64Array(BLOCK);
  readonly #windowed = new Float64Array(BLOCK);
  #filled = 0;
  #quarters = new Float64Array(QUARTERS);
  #prevQuarters = new Float64Array(QUARTERS);
  #prevTonal = false;

  // The tone in progress, if any.
  #runBlocks = 0;
  #runStartMs = 0;
  #runEndMs = 0;
  #runHzSum = 0;
  #runPeakQuarter = 0;

  constructor(options: BeepDetectorOptions) {
    this.#onBeep = options.onBeep;
    this.#minDurationMs = options.minDurationMs ?? 150;
    this.#maxDurationMs = options.maxDurationMs ?? 3000;
    this.#minHz = options.minHz ?? 400;
    this.#maxHz = options.maxHz ?? 2000;
    this.#minTonality = options.minTonality ?? 0.8;
    this.#maxDriftHz = options.maxDriftHz ?? 20;
    // Mean square of samples in [-1, 1]; a full-scale sine has 0.5.
    this.#minPower = 0.5 * 10 ** ((options.minLevelDbfs ?? -40) / 10);
    checkOptions(this.#minHz, this.#maxHz, this.#minDurationMs, this.#maxDurationMs);

    let sumW = 0;
    let sumW2 = 0;
    for (let n = 0; n < BLOCK; n++) {
      const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / BLOCK);
      this.#window[n] = w;
      sumW += w;
      sumW2 += w * w;
    }
    this.#sumW = sumW;
    this.#sumW2 = sumW2;
    // One guard bin beyond each end of the range: a peak there is a tone outside the range.
    const bins = Math.ceil((this.#maxHz - this.#minHz) / BIN_SPACING_HZ) + 3;
    this.#bankHz = new Float64Array(bins);
    this.#coeff = new Float64Array(bins);
    this.#power = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const hz = this.#minHz + (k - 1) * BIN_SPACING_HZ;
      this.#bankHz[k] = hz;
      this.#coeff[k] = 2 * Math.cos((2 * Math.PI * hz) / SAMPLE_RATE);
    }
  }

  /**
   * Feeds PCM16 samples at 8 kHz; `frameEndMs` is the time at the end of the last sample. Any chunk
   * size works (Twilio's is 160): blocks are cut internally, so the result does not depend on chunking.
   */
  push(pcm: Int16Array, frameEndMs: number): void {
    const last = pcm.length - 1;
    for (let i = 0; i <= last; i++) {
      this.#block[this.#filled++] = (pcm[i] ?? 0) / 32768;
      if (this.#filled === BLOCK) {
        this.#filled = 0;
        this.#onBlock(frameEndMs - ((last - i) * 1000) / SAMPLE_RATE);
      }
    }
  }

  /** Ends the stream: a tone still sounding is judged as if it stopped now. A partial block is dropped. */
  flush(): void {
    if (this.#runBlocks > 0) this.#finishRun(null);
    this.reset();
  }

  /** Forgets all state, e.g. when the detector is reused for another stream. */
  reset(): void {
    this.#filled = 0;
    this.#prevTonal = false;
    this.#runBlocks = 0;
    this.#quarters.fill(0);
    this.#prevQuarters.fill(0);
  }

  #onBlock(blockEndMs: number): void {
    const hz = this.#analyse();
    const tonal = hz > 0;
    if (this.#runBlocks > 0) {
      const steady = tonal && Math.abs(hz - this.#runHzSum / this.#runBlocks) <= this.#maxDriftHz;
      if (steady) this.#extendRun(hz, blockEndMs);
      else this.#finishRun(tonal ? null : this.#quarters);
    }
    if (tonal && this.#runBlocks === 0) this.#startRun(hz, blockEndMs);
    // Swap, not copy: the current block's quarters become the previous block's.
    const prev = this.#prevQuarters;
    this.#prevQuarters = this.#quarters;
    this.#quarters = prev;
    this.#prevTonal = tonal;
  }

  #startRun(hz: number, blockEndMs: number): void {
    const cur = this.#quarters;
    const peak = Math.max(cur[0] ?? 0, cur[1] ?? 0, cur[2] ?? 0, cur[3] ?? 0);
    const threshold = peak * EDGE_RATIO;
    let startMs = blockEndMs - BLOCK_MS;
    // Late start inside this block, or an early one in the previous block if that was not a tone itself.
    let q = 0;
    while (q < QUARTERS - 1 && (cur[q] ?? 0) < threshold) q++;
    startMs += q * QUARTER_MS;
    if (q === 0 && !this.#prevTonal) {
      for (let p = QUARTERS - 1; p >= 0 && (this.#prevQuarters[p] ?? 0) >= threshold; p--) startMs -= QUARTER_MS;
    }
    this.#runBlocks = 1;
    this.#runStartMs = startMs;
    this.#runEndMs = blockEndMs;
    this.#runHzSum = hz;
    this.#runPeakQuarter = peak;
  }

  #extendRun(hz: number, blockEndMs: number): void {
    const cur = this.#quarters;
    this.#runBlocks++;
    this.#runEndMs = blockEndMs;
    this.#runHzSum += hz;
    this.#runPeakQuarter = Math.max(this.#runPeakQuarter, cur[0] ?? 0, cur[1] ?? 0, cur[2] ?? 0, cur[3] ?? 0);
  }

  /** `next`: quarter energies of the (non-tonal) block after the tone, or null if there is none to use. */
  #finishRun(next: Float64Array | null): void {
    const lastTonal = this.#prevQuarters;
    const threshold = this.#runPeakQuarter * EDGE_RATIO;
    let endMs = this.#runEndMs;
    let q = QUARTERS - 1;
    while (q > 0 && (lastTonal[q] ?? 0) < threshold) q--;
    endMs -= (QUARTERS - 1 - q) * QUARTER_MS;
    if (q === QUARTERS - 1 && next !== null) {
      for (let p = 0; p < QUARTERS && (next[p] ?? 0) >= threshold; p++) endMs += QUARTER_MS;
    }
    const hz = this.#runHzSum / this.#runBlocks;
    const durationMs = endMs - this.#runStartMs;
    this.#runBlocks = 0;
    // Edges are measured to a quarter block, so a tone within one quarter of the minimum counts.
    const longEnough = durationMs >= this.#minDurationMs - QUARTER_MS;
    if (longEnough && durationMs <= this.#maxDurationMs && hz >= this.#minHz && hz <= this.#maxHz) {
      this.#onBeep({ startMs: this.#runStartMs, endMs, hz: Math.round(hz) });
    }
  }

  /** The block's tone frequency in Hz, or 0 when the block is not a single in-range tone. */
  #analyse(): number {
    const block = this.#block;
    const windowed = this.#windowed;
    let energy = 0;
    for (let q = 0; q < QUARTERS; q++) {
      let e = 0;
      for (let n = q * QUARTER; n < (q + 1) * QUARTER; n++) {
        const x = block[n] ?? 0;
        e += x * x;
        const v = x * (this.#window[n] ?? 0);
        windowed[n] = v;
        energy += v * v;
      }
      this.#quarters[q] = e / QUARTER;
    }
    const meanSquare = energy / this.#sumW2;
    if (meanSquare < this.#minPower) return 0;
    const best = this.#goertzelBank();
    const bestPower = this.#power[best] ?? 0;
    // Peak on a guard bin: the tone (if any) is outside the range.
    if (best === 0 || best === this.#power.length - 1) return 0;
    // 2|X|²/(Σw)² estimates the tone's mean square; compare it with the whole block's.
    const tonality = (2 * bestPower) / (this.#sumW * this.#sumW) / meanSquare;
    if (tonality < this.#minTonality || this.#hasRival(best, bestPower)) return 0;
    return this.#interpolate(best);
  }

  /** Fills #power for every bin; returns the index of the strongest. */
  #goertzelBank(): number {
    const last = this.#coeff.length - 1;
    // A short final group repeats the last bin rather than branching inside the hot loop.
    for (let k = 0; k <= last; k += 4) {
      this.#goertzelQuad(k, Math.min(k + 1, last), Math.min(k + 2, last), Math.min(k + 3, last));
    }
    let best = 0;
    for (let k = 1; k <= last; k++) if ((this.#power[k] ?? 0) > (this.#power[best] ?? 0)) best = k;
    return best;
  }

  /**
   * Four Goertzel filters in one pass over the block: their recurrences are independent, so the CPU
   * overlaps them — about twice as fast as one bin per pass (bench/media/beep.ts).
   */
  #goertzelQuad(a: number, b: number, c: number, d: number): void {
    const windowed = this.#windowed;
    const ca = this.#coeff[a] ?? 0;
    const cb = this.#coeff[b] ?? 0;
    const cc = this.#coeff[c] ?? 0;
    const cd = this.#coeff[d] ?? 0;
    // x1, x2: filter x's last two outputs, s[n-1] and s[n-2].
    let a1 = 0, a2 = 0;
    let b1 = 0, b2 = 0;
    let c1 = 0, c2 = 0;
    let d1 = 0, d2 = 0;
    for (let n = 0; n < BLOCK; n++) {
      const x = windowed[n] ?? 0;
      const sa = x + ca * a1 - a2;
      const sb = x + cb * b1 - b2;
      const sc = x + cc * c1 - c2;
      const sd = x + cd * d1 - d2;
      a2 = a1;
      a1 = sa;
      b2 = b1;
      b1 = sb;
      c2 = c1;
      c1 = sc;
      d2 = d1;
      d1 = sd;
    }
    this.#power[a] = a1 * a1 + a2 * a2 - ca * a1 * a2;
    this.#power[b] = b1 * b1 + b2 * b2 - cb * b1 * b2;
    this.#power[c] = c1 * c1 + c2 * c2 - cc * c1 * c2;
    this.#power[d] = d1 * d1 + d2 * d2 - cd * d1 * d2;
  }

  /** True when another peak outside the main lobe is strong enough to be a second tone. */
  #hasRival(best: number, bestPower: number): boolean {
    const lobeBins = LOBE_HZ / BIN_SPACING_HZ;
    const limit = bestPower * MAX_RIVAL_RATIO;
    for (let k = 0; k < this.#power.length; k++) {
      if (Math.abs(k - best) > lobeBins && (this.#power[k] ?? 0) > limit) return true;
    }
    return false;
  }

  /** Parabolic interpolation of log power around the peak: the pitch to a few Hz, not to 25. */
  #interpolate(best: number): number {
    const a = Math.log((this.#power[best - 1] ?? 0) + TINY);
    const b = Math.log((this.#power[best] ?? 0) + TINY);
    const c = Math.log((this.#power[best + 1] ?? 0) + TINY);
    const curvature = a - 2 * b + c;
    const offset = curvature < 0 ? (0.5 * (a - c)) / curvature : 0;
    return (this.#bankHz[best] ?? 0) + offset * BIN_SPACING_HZ;
  }
}

function checkOptions(minHz: number, maxHz: number, minDurationMs: number, maxDurationMs: number): void {
  const nyquistMargin = SAMPLE_RATE / 2 - BIN_SPACING_HZ;
  if (!(minHz > BIN_SPACING_HZ && minHz < maxHz && maxHz < nyquistMargin)) {
    throw new RangeError(`beep range ${minHz}–${maxHz} Hz must be increasing and inside ${BIN_SPACING_HZ}–${nyquistMargin} Hz`);
  }
  if (!(minDurationMs > 0 && minDurationMs <= maxDurationMs)) {
    throw new RangeError(`beep durations ${minDurationMs}–${maxDurationMs} ms must be positive and increasing`);
  }
}

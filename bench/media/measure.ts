/**
 * Timing helper shared by the media benchmarks: warm up, then time batches of calls for a bounded
 * time. The fastest batch is the headline: on a shared 2-core machine other processes only ever add
 * time, so the minimum is the stable estimate of the work's own cost; the median shows contention.
 */

export interface BenchRow {
  readonly name: string;
  readonly usPerFrame: number;
  readonly notes?: string;
}

/** Long enough that performance.now()'s resolution and the loop overhead stay below 0.1 %. */
const BATCH_TARGET_MS = 2;

// Results are folded in here so the JIT cannot discard the work being timed.
let sink = 0;

/** Median and fastest (`min`) µs per call of `fn`, from batches run for about `budgetMs` after a warm-up. */
export function usPerCall(fn: () => number, budgetMs: number): { median: number; min: number } {
  const warmUntil = performance.now() + Math.min(100, budgetMs / 4);
  let batch = 1;
  while (performance.now() < warmUntil) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) sink += fn();
    if (performance.now() - t0 < BATCH_TARGET_MS) batch *= 2;
  }
  const perCall: number[] = [];
  const stopAt = performance.now() + budgetMs;
  do {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) sink += fn();
    perCall.push(((performance.now() - t0) * 1000) / batch);
  } while (performance.now() < stopAt);
  perCall.sort((a, b) => a - b);
  if (sink === Number.MAX_VALUE) perCall.push(0); // never true; keeps `sink` observable
  return { median: perCall[Math.floor(perCall.length / 2)] ?? NaN, min: perCall[0] ?? NaN };
}

/** Deterministic speech-band-ish test audio: LCG noise plus a tone, as int16. */
export function testSignal(length: number, rate: number): Int16Array {
  let seed = 0x2545f491;
  return Int16Array.from({ length }, (_, n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.round(((seed / 2 ** 32) * 2 - 1) * 8000 + 12000 * Math.sin((2 * Math.PI * 440 * n) / rate));
  });
}

/** How alike two μ-law recordings are: normalised cross-correlation of their PCM, best over a small lag. */
import { MULAW_DECODE } from "../../media/g711.js";

function pcm(mulaw: Buffer, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = MULAW_DECODE[mulaw[i]!]!;
  return out;
}

/**
 * Correlation of `received` against `expected` over `expected`'s length, searching lags up to `maxLag`
 * samples either way (a resampler's filter delays the signal by a few samples).
 */
export function bestCorrelation(expected: Buffer, received: Buffer, maxLag = 64): number {
  const n = Math.min(expected.length, received.length - maxLag);
  if (n <= 0) return 0;
  const a = pcm(expected, n);
  const b = pcm(received, Math.min(received.length, n + 2 * maxLag));
  let best = -1;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = 0; i < n; i++) {
      const j = i + lag;
      if (j < 0 || j >= b.length) continue;
      ab += a[i]! * b[j]!;
      aa += a[i]! * a[i]!;
      bb += b[j]! * b[j]!;
    }
    if (aa > 0 && bb > 0) best = Math.max(best, ab / Math.sqrt(aa * bb));
  }
  return best;
}

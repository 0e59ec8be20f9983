/**
 * Resampler cost per 20 ms frame, for every rate pair and both engines: speex (WASM) at its default
 * quality and the pure-TS polyphase FIR at its default design.
 */
import { RESAMPLE_PAIRS } from "../../media/resample/index.js";
import { PolyphaseResampler } from "../../media/resample/polyphase.js";
import { SPEEX_DEFAULT_QUALITY, SpeexResampler, initSpeex } from "../../media/resample/speex.js";
import type { Resampler } from "../../media/resample/types.js";
import { type BenchRow, testSignal, usPerCall } from "./measure.js";

const PAIRS = RESAMPLE_PAIRS;

export interface ResampleBenchOptions {
  /** Measuring time per row, after its warm-up. 12 rows. */
  readonly msPerRow?: number;
  /** Speex quality to time (default: the one `createResampler` uses). */
  readonly speexQuality?: number;
}

export async function benchResamplers(options: ResampleBenchOptions = {}): Promise<BenchRow[]> {
  const budget = options.msPerRow ?? 120;
  const quality = options.speexQuality ?? SPEEX_DEFAULT_QUALITY;
  const build = await initSpeex();
  const rows: BenchRow[] = [];
  for (const [inRate, outRate] of PAIRS) {
    const label = `resample ${inRate / 1000}→${outRate / 1000} kHz`;
    const speex = new SpeexResampler(inRate, outRate, quality);
    rows.push(timeFrames(`${label}, speex`, speex, budget, `WASM ${build}, quality ${quality}`));
    speex.close();
    const fir = new PolyphaseResampler(inRate, outRate);
    rows.push(timeFrames(`${label}, polyphase`, fir, budget, `${fir.tapsPerPhase} taps per output`));
  }
  return rows;
}

function timeFrames(name: string, resampler: Resampler, budgetMs: number, notes: string): BenchRow {
  const frame = testSignal(resampler.inRate / 50, resampler.inRate);
  const { min, median } = usPerCall(() => resampler.process(frame)[5] ?? 0, budgetMs);
  return { name, usPerFrame: min, notes: `${notes}; median batch ${median.toFixed(2)} µs` };
}

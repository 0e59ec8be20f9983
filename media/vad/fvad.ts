/**
 * WebRTC VAD (libfvad compiled to WASM) at 8 kHz on 20 ms frames: synchronous, a few µs per frame,
 * no batching needed. Its 0/1 flag goes through the same decision logic as Silero's probability.
 */
import createFvadModule, { type FvadModule } from "@echogarden/fvad-wasm";
import { SpeechDecider } from "./decisions.js";
import { type VadCallbacks, type VadConfig, VadError, type VadStream } from "./types.js";

export type WebrtcVadMode = 0 | 1 | 2 | 3;

/**
 * Mode 3 ("very aggressive"): with the shared decision settings, modes 0–2 start speech on the DTMF
 * fixture and on the pink noise under speech-in-noise; mode 3 on neither, and its short gaps inside
 * words are absorbed by the onset gap tolerance and the hangover. Figures in docs/PERFORMANCE.md.
 */
export const DEFAULT_WEBRTC_MODE: WebrtcVadMode = 3;

/**
 * How long libfvad keeps flagging voice after speech stops (its built-in hangover), by mode, as
 * measured on the 239 ms "uh-huh" fixture at 20 ms frames (400, 400, 360, 340 ms of flags).
 */
const TRAIL_MS: Record<WebrtcVadMode, number> = { 0: 160, 1: 160, 2: 120, 3: 100 };

const SAMPLE_RATE = 8000;
const SAMPLES_PER_MS = SAMPLE_RATE / 1000;
/** libfvad takes 10, 20 or 30 ms frames; the buffer fits the longest. */
const MAX_FRAME_SAMPLES = 30 * SAMPLES_PER_MS;

class FvadStream implements VadStream {
  readonly kind = "webrtc";
  readonly overruns = 0;
  readonly #module: FvadModule;
  readonly #mode: WebrtcVadMode;
  readonly #handle: number;
  readonly #frame: number;
  readonly #decider: SpeechDecider;
  readonly #onWindow: ((probability: number, windowEndMs: number) => void) | undefined;
  #closed = false;

  constructor(module: FvadModule, mode: WebrtcVadMode, config: VadConfig, callbacks: VadCallbacks) {
    this.#module = module;
    this.#mode = mode;
    this.#handle = module._fvad_new();
    if (this.#handle === 0) throw new VadError("wasm_init_failed", "libfvad could not allocate a VAD instance");
    this.#frame = module._malloc(MAX_FRAME_SAMPLES * Int16Array.BYTES_PER_ELEMENT);
    try {
      this.#configure();
    } catch (error) {
      this.close();
      throw error;
    }
    this.#decider = new SpeechDecider(config, callbacks, TRAIL_MS[mode]);
    this.#onWindow = callbacks.onWindow?.bind(callbacks);
  }

  get speaking(): boolean {
    return this.#decider.speaking;
  }

  push(pcm8k: Int16Array, frameEndMs: number): void {
    if (this.#closed) return;
    const n = pcm8k.length;
    // Checked before the copy: a longer frame would write past our buffer into the WASM heap.
    if (n !== 80 && n !== 160 && n !== MAX_FRAME_SAMPLES) throw new VadError("bad_frame", `WebRTC VAD needs 10, 20 or 30 ms frames (80/160/240 samples), got ${n}`);
    // HEAP16 is re-read each time: Emscripten swaps the view when WASM memory grows.
    this.#module.HEAP16.set(pcm8k, this.#frame >> 1);
    const voiced = this.#module._fvad_process(this.#handle, this.#frame, n);
    if (voiced < 0) throw new VadError("bad_frame", `libfvad rejected a frame of ${n} samples`);
    this.#onWindow?.(voiced, frameEndMs);
    this.#decider.observe(voiced, frameEndMs - n / SAMPLES_PER_MS, frameEndMs);
  }

  reset(): void {
    if (this.#closed) return;
    // fvad_reset also restores the default mode and rate, so both are set again.
    this.#module._fvad_reset(this.#handle);
    this.#configure();
    this.#decider.reset();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#module._free(this.#frame);
    this.#module._fvad_free(this.#handle);
  }

  #configure(): void {
    if (this.#module._fvad_set_mode(this.#handle, this.#mode) !== 0) throw new VadError("wasm_init_failed", `invalid WebRTC VAD mode ${this.#mode}`);
    if (this.#module._fvad_set_sample_rate(this.#handle, SAMPLE_RATE) !== 0) throw new VadError("wasm_init_failed", "libfvad rejected 8 kHz");
  }
}

/** The WASM module, instantiated once per process; streams are cheap instances inside it. */
export class FvadEngine {
  readonly #module: FvadModule;
  readonly mode: WebrtcVadMode;

  private constructor(module: FvadModule, mode: WebrtcVadMode) {
    this.#module = module;
    this.mode = mode;
  }

  static async create(mode: WebrtcVadMode = DEFAULT_WEBRTC_MODE): Promise<FvadEngine> {
    try {
      return new FvadEngine(await createFvadModule(), mode);
    } catch (cause) {
      throw new VadError("wasm_init_failed", "the WebRTC VAD WASM module could not be instantiated", { cause });
    }
  }

  /** A stream with its own libfvad instance; `close()` it to free the WASM memory. */
  createStream(config: VadConfig, callbacks: VadCallbacks, mode: WebrtcVadMode = this.mode): VadStream {
    return new FvadStream(this.#module, mode, config, callbacks);
  }
}

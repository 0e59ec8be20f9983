// Types for @echogarden/fvad-wasm 0.2.0, which ships none: an Emscripten build of libfvad.
// Only the exports we call are declared; signatures follow libfvad's fvad.h.
declare module "@echogarden/fvad-wasm" {
  export interface FvadModule {
    /** Heap view; re-read after any call that may grow memory, as Emscripten replaces the view. */
    readonly HEAP16: Int16Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    /** Returns a handle, or 0 when out of memory. */
    _fvad_new(): number;
    _fvad_free(handle: number): void;
    _fvad_reset(handle: number): void;
    /** Mode 0 (quality) .. 3 (very aggressive); 0 on success, -1 for an invalid mode. */
    _fvad_set_mode(handle: number, mode: number): number;
    /** 8000, 16000, 32000 or 48000; 0 on success, -1 otherwise. */
    _fvad_set_sample_rate(handle: number, rate: number): number;
    /** 10, 20 or 30 ms of int16 samples at `framePtr`; 1 = voice, 0 = no voice, -1 = bad frame length. */
    _fvad_process(handle: number, framePtr: number, length: number): number;
  }
  const createFvadModule: (moduleArg?: object) => Promise<FvadModule>;
  export default createFvadModule;
}

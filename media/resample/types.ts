/** A streaming sample-rate converter for mono PCM16, fed one chunk (typically 20 ms) at a time. */
export interface Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /**
   * Resamples one chunk, continuing from the previous one (filter history is kept, so chunk edges
   * are seamless). Returns a view into a buffer the resampler reuses: valid until the next call.
   * Any chunk length works; over a stream, output length totals input length × outRate / inRate.
   */
  process(input: Int16Array): Int16Array;
  /** Forgets all history, as if freshly created (e.g. after a barge-in flushes queued audio). */
  reset(): void;
  /** Releases what the resampler holds outside the JS heap (WASM memory). Unusable afterwards. */
  close(): void;
}

/** Which implementation runs: speex (WASM, needs `initResamplers()`), or the pure-TS polyphase FIR. */
export type ResamplerEngine = "speex" | "polyphase";

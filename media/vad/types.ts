/**
 * The one face every local VAD shows: PCM frames in, speech start / end decisions out through a
 * callbacks object chosen at creation. Types only, no logic.
 */

export type VadKind = "silero" | "webrtc";

/**
 * Decisions, called synchronously from `push` (webrtc) or from the batcher's `flush` (silero).
 * `atMs` is stream time of the onset / offset itself (the first speech window, the first silent
 * window), not of the moment the decision was made: that is `atMs + minSpeechMs` or
 * `atMs + silenceDurationMs` later.
 */
export interface VadCallbacks {
  onSpeechStart(atMs: number): void;
  onSpeechEnd(atMs: number): void;
  /** Optional per-window probability (0/1 for webrtc), for metrics and tests; chosen once. */
  onWindow?(probability: number, windowEndMs: number): void;
}

export interface VadStream {
  readonly kind: VadKind;
  /** True between a speech start and its speech end. */
  readonly speaking: boolean;
  /** Windows dropped because the owner did not flush in time (Silero only; always 0 for webrtc). */
  readonly overruns: number;
  /**
   * One frame of 8 kHz PCM16 (normally 20 ms = 160 samples) ending at `frameEndMs` of stream time.
   * The samples are read before `push` returns, so the caller may reuse the buffer.
   */
  push(pcm8k: Int16Array, frameEndMs: number): void;
  /** Forgets audio, model state and any half-made decision, without calling back. */
  reset(): void;
  /** Releases the stream; further pushes are ignored. Idempotent. */
  close(): void;
}

/** Decision tuning shared by both VADs; see `config.ts` for defaults and the agent-field mapping. */
export interface VadConfig {
  /** Speech when the window's probability is at or above this. */
  readonly threshold: number;
  /** Silence when below this (hysteresis: between the two, the current state holds). */
  readonly endThreshold: number;
  /** Speech must last this long before a start is declared, so backchannels do not trigger. */
  readonly minSpeechMs: number;
  /** Silence must last this long (hangover) before an end is declared. */
  readonly silenceDurationMs: number;
  /**
   * Audio before the onset that belongs to the utterance. Not applied to `atMs`; callers that
   * replay or commit audio start at `atMs - prefixPaddingMs`.
   */
  readonly prefixPaddingMs: number;
}

/** The agent record's VAD fields (snake_case as stored); null or absent means "default". */
export interface AgentVadFields {
  readonly vad_threshold?: number | null;
  readonly vad_silence_duration_ms?: number | null;
  readonly vad_prefix_padding_ms?: number | null;
}

/** The work a caller drives on a shared tick: `flush` every `tickMs` (no timers inside media/). */
export interface VadTicker {
  readonly tickMs: number;
  /** Runs the queued inference; rejects with a `VadError` if the model fails. */
  flush(): Promise<void>;
}

export type VadErrorCode = "engine_not_loaded" | "model_load_failed" | "wasm_init_failed" | "inference_failed" | "bad_frame";

/** A VAD failure with a stable code; `cause` carries the runtime's own error when there is one. */
export class VadError extends Error {
  override readonly name = "VadError";
  constructor(
    readonly code: VadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

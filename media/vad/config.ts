/**
 * Defaults for the local VADs and the mapping from an agent's `vad_*` fields. The measurements
 * behind each number are in docs/PERFORMANCE.md ("Local VAD").
 */
import type { AgentVadFields, VadConfig, VadKind } from "./types.js";

/** The agent record's own defaults (Leadlock reference), tuned for a provider's server VAD. */
export const AGENT_VAD_DEFAULTS = {
  threshold: 0.65,
  silenceDurationMs: 500,
  prefixPaddingMs: 300,
} as const;

/**
 * Silero's own default start threshold. Its probability ramps over a window or two, so a lower start
 * threshold finds onsets sooner (at the agent default of 0.65 they came up to 92 ms late, at 0.5 up to
 * 76 ms), and barge-in latency is onset lag plus minimum speech. Line noise peaks at 0.04 and DTMF at
 * 0.22, below 0.4 and its end threshold of 0.25.
 */
export const SILERO_DEFAULT_THRESHOLD = 0.4;

/** Hysteresis: speech continues until the probability falls this far below the start threshold. */
export const END_THRESHOLD_GAP = 0.15;

/** Floor for the end threshold, so a low start threshold still needs a near-silent window to end. */
const MIN_END_THRESHOLD = 0.05;

/**
 * Caller audio needed before speech starts (and so before barge-in), per engine; each VAD adds its own
 * trail (model lag, hangover) on top, so the figure means audio, not VAD time. Chosen so Twilio is
 * cleared within 250 ms of the caller's onset (Silero ~230 ms, WebRTC ~200 ms on the barge-in fixture)
 * while a quick 113 ms "uh-huh" is ignored. A 240 ms "uh-huh" does barge in: 200 ms into it, it is the
 * same audio as the start of an interruption (docs/PERFORMANCE.md, "Barge-in latency").
 */
export const DEFAULT_MIN_SPEECH_MS: Readonly<Record<VadKind, number>> = Object.freeze({ silero: 80, webrtc: 100 });

export interface VadOverrides {
  readonly minSpeechMs?: number;
}

/** Thresholds are hundredths, like the agent field; rounding keeps 0.65 − 0.15 at 0.5, not 0.4999…. */
function hundredths(x: number): number {
  return Math.round(x * 100) / 100;
}

function pick(value: number | null | undefined, fallback: number, min: number, max: number): number {
  if (value === null || value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

/**
 * The agent's threshold is on the server-VAD scale (default 0.65). Silero keeps the agent's offset
 * from that default around its own default, so 0.65 → 0.5 and a stricter 0.8 → 0.65.
 */
function sileroThreshold(agentThreshold: number | null | undefined): number {
  const agent = pick(agentThreshold, AGENT_VAD_DEFAULTS.threshold, 0, 1);
  return hundredths(pick(SILERO_DEFAULT_THRESHOLD + agent - AGENT_VAD_DEFAULTS.threshold, SILERO_DEFAULT_THRESHOLD, 0.1, 0.95));
}

/**
 * The decision config for one stream. WebRTC VAD emits 0/1 flags, so its threshold is fixed at 0.5
 * (any flag counts) whatever the agent says; its sensitivity is the engine's mode instead.
 */
export function resolveVadConfig(kind: VadKind, agent: AgentVadFields = {}, overrides: VadOverrides = {}): VadConfig {
  const threshold = kind === "webrtc" ? 0.5 : sileroThreshold(agent.vad_threshold);
  return {
    threshold,
    endThreshold: hundredths(Math.max(MIN_END_THRESHOLD, threshold - END_THRESHOLD_GAP)),
    minSpeechMs: pick(overrides.minSpeechMs, DEFAULT_MIN_SPEECH_MS[kind], 0, 5_000),
    silenceDurationMs: pick(agent.vad_silence_duration_ms, AGENT_VAD_DEFAULTS.silenceDurationMs, 0, 10_000),
    prefixPaddingMs: pick(agent.vad_prefix_padding_ms, AGENT_VAD_DEFAULTS.prefixPaddingMs, 0, 5_000),
  };
}

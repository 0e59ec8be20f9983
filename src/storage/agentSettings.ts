/**
 * How an agent handles a call, beyond its voice: mode, AMD, transfers, tools, limits, variables.
 * Kept in the agent's `settings` jsonb under their API names; defaults from the Leadlock reference.
 */
import type { AgentVadFields } from "../../media/vad/index.js";
import { VOICEMAIL_BEHAVIORS, type TransferTarget, type VoicemailBehavior } from "../../sessions/index.js";
import type { JsonObject } from "./schema.js";

export { VOICEMAIL_BEHAVIORS, type TransferTarget, type VoicemailBehavior };

export const AGENT_MODES = ["inbound", "outbound", "both"] as const;

export type AgentMode = (typeof AGENT_MODES)[number];

export interface VariableDefinition {
  /** Fills `{{name}}` in the prompt and greetings. */
  readonly name: string;
  readonly description: string | null;
  /** An outbound call without it is refused. */
  readonly required: boolean;
  readonly default_value: string | null;
}

export interface AgentCallSettings {
  /** IANA zone the agent speaks dates and times in. */
  readonly timezone: string;
  readonly business_name: string | null;
  readonly industry: string | null;
  readonly agent_mode: AgentMode;
  readonly ai_speaks_first_outbound: boolean;
  readonly enable_recording_disclosure: boolean;
  readonly amd_enabled: boolean;
  readonly amd_voicemail_behavior: VoicemailBehavior;
  readonly amd_voicemail_message: string | null;
  /** https only, public host only (checked at the API). */
  readonly amd_voicemail_audio_url: string | null;
  readonly transfer_targets: readonly TransferTarget[] | null;
  readonly whisper_enabled: boolean;
  readonly tools_enabled: readonly string[] | null;
  /** Per-tool usage instructions: tool name → text. */
  readonly tool_instructions: Readonly<Record<string, string>> | null;
  /** 0 = no limit. */
  readonly max_call_duration_minutes: number;
  /** 0 = no limit. */
  readonly max_silence_seconds: number;
  readonly variable_definitions: readonly VariableDefinition[] | null;
}

export const AGENT_CALL_DEFAULTS: AgentCallSettings = Object.freeze({
  timezone: "America/New_York",
  business_name: null,
  industry: null,
  agent_mode: "inbound",
  ai_speaks_first_outbound: true,
  enable_recording_disclosure: true,
  amd_enabled: true,
  amd_voicemail_behavior: "hangup",
  amd_voicemail_message: null,
  amd_voicemail_audio_url: null,
  transfer_targets: null,
  whisper_enabled: false,
  tools_enabled: null,
  tool_instructions: null,
  max_call_duration_minutes: 30,
  max_silence_seconds: 120,
  variable_definitions: null,
});

export const AGENT_CALL_FIELD_NAMES = Object.keys(AGENT_CALL_DEFAULTS) as readonly (keyof AgentCallSettings)[];

/** The agent's call settings: stored ones (validated by the API) over the reference defaults. */
export function agentCallSettings(settings: JsonObject): AgentCallSettings {
  const fields: Record<string, unknown> = { ...AGENT_CALL_DEFAULTS };
  for (const name of AGENT_CALL_FIELD_NAMES) {
    const value = settings[name];
    if (value !== undefined) fields[name] = value;
  }
  return fields as unknown as AgentCallSettings;
}

/** The agent's VAD tuning, where it set any; these fields live in `settings` until promoted to columns. */
export function agentVadFields(settings: JsonObject): AgentVadFields {
  const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
  return {
    vad_threshold: num(settings.vad_threshold),
    vad_silence_duration_ms: num(settings.vad_silence_duration_ms),
    vad_prefix_padding_ms: num(settings.vad_prefix_padding_ms),
  };
}

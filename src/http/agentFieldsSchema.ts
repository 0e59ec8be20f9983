/** JSON Schema for the agent's provider-specific and VAD fields: ranges and choices from the Leadlock reference. */
import {
  ELEVENLABS_EAGERNESS,
  ELEVENLABS_TOOL_CALL_SOUNDS,
  GEMINI_SENSITIVITIES,
  GEMINI_THINKING_LEVELS,
  GEMINI_VOICES,
  OPENAI_NOISE_REDUCTION,
  OPENAI_VAD_EAGERNESS,
  OPENAI_VAD_TYPES,
  OPENAI_VOICES,
} from "../../providers/agentFields.js";
import { ELEVENLABS_LANGUAGES } from "../../providers/elevenlabs/index.js";
import { AGENT_MODES, VOICEMAIL_BEHAVIORS } from "../storage/agentSettings.js";
import { E164_PATTERN } from "./schemas.js";

/** Also accepts null; an enum must list null itself or ajv rejects it even when the type allows it. */
function nullable<T extends { type: string; enum?: readonly unknown[] }>(schema: T) {
  return { ...schema, type: [schema.type, "null"], ...(schema.enum ? { enum: [...schema.enum, null] } : {}) };
}
const oneOf = (values: readonly string[]) => ({ type: "string", enum: [...values] }) as const;
const tags = { type: "array", maxItems: 50, items: { type: "string", minLength: 1, maxLength: 50 } } as const;
// ElevenLabs takes only the codes its override type lists (lower case, e.g. "pt-br").
const elevenLabsLanguage = { type: "string", enum: [...ELEVENLABS_LANGUAGES] } as const;
const languages = { type: "array", maxItems: 20, items: elevenLabsLanguage } as const;

/** VAD tuning every provider with server-side turn detection uses. */
export const VAD_FIELD_SCHEMA = {
  vad_threshold: { type: "number", minimum: 0, maximum: 1 },
  vad_silence_duration_ms: { type: "integer", minimum: 100, maximum: 5_000 },
  vad_prefix_padding_ms: { type: "integer", minimum: 0, maximum: 2_000 },
} as const;

export const PROVIDER_FIELD_SCHEMA = {
  openai_voice: oneOf(OPENAI_VOICES),
  openai_vad_type: oneOf(OPENAI_VAD_TYPES),
  openai_vad_eagerness: oneOf(OPENAI_VAD_EAGERNESS),
  openai_noise_reduction: oneOf(OPENAI_NOISE_REDUCTION),

  xai_audio_tags: nullable(tags),

  gemini_voice: oneOf(GEMINI_VOICES),
  gemini_start_sensitivity: oneOf(GEMINI_SENSITIVITIES),
  gemini_end_sensitivity: oneOf(GEMINI_SENSITIVITIES),
  gemini_thinking_level: oneOf(GEMINI_THINKING_LEVELS),
  gemini_language_code: nullable({ type: "string", pattern: "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$" }),
  gemini_affective_dialog: { type: "boolean" },
  gemini_proactive_audio: { type: "boolean" },
  gemini_top_k: nullable({ type: "integer", minimum: 1, maximum: 100 }),
  gemini_top_p: nullable({ type: "number", minimum: 0, maximum: 1 }),

  elevenlabs_agent_id: nullable({ type: "string", minLength: 1, maxLength: 100 }),
  elevenlabs_voice_id: nullable({ type: "string", minLength: 1, maxLength: 100 }),
  elevenlabs_model_id: { type: "string", minLength: 1, maxLength: 100 },
  elevenlabs_speed: { type: "number", minimum: 0.7, maximum: 1.2 },
  elevenlabs_eagerness: oneOf(ELEVENLABS_EAGERNESS),
  elevenlabs_language: elevenLabsLanguage,
  elevenlabs_additional_languages: languages,
  elevenlabs_stability: { type: "number", minimum: 0, maximum: 1 },
  elevenlabs_max_duration_seconds: nullable({ type: "integer", minimum: 60, maximum: 14_400 }),
  elevenlabs_emotion_tags: nullable({
    type: "array",
    maxItems: 50,
    items: {
      type: "object",
      required: ["name", "description"],
      additionalProperties: false,
      properties: { name: { type: "string", minLength: 1, maxLength: 50 }, description: { type: "string", maxLength: 500 } },
    },
  }),
  elevenlabs_tool_call_sound: nullable(oneOf(ELEVENLABS_TOOL_CALL_SOUNDS)),
  elevenlabs_pre_tool_speech: nullable({ type: "boolean" }),
} as const;

const text = (maxLength: number) => nullable({ type: "string", maxLength });
const flag = { type: "boolean" } as const;
/** Tool and variable names reach the model and `{{name}}` templates: keep them identifiers. */
export const IDENTIFIER_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,63}$";
const identifier = { type: "string", pattern: IDENTIFIER_PATTERN } as const;

/** How the agent handles a call beyond its voice (see storage/agentSettings.ts); item defaults fill omitted keys. */
export const CALL_FIELD_SCHEMA = {
  timezone: { type: "string", minLength: 1, maxLength: 64, description: "IANA time zone, e.g. America/New_York" },
  business_name: text(200),
  industry: text(200),
  agent_mode: oneOf(AGENT_MODES),
  ai_speaks_first_outbound: flag,
  enable_recording_disclosure: flag,
  amd_enabled: flag,
  amd_voicemail_behavior: oneOf(VOICEMAIL_BEHAVIORS),
  amd_voicemail_message: text(2000),
  amd_voicemail_audio_url: { ...text(2048), description: "https URL on a public host" },
  transfer_targets: nullable({
    type: "array",
    maxItems: 20,
    items: {
      type: "object",
      required: ["name", "number"],
      additionalProperties: false,
      properties: {
        name: { type: "string", minLength: 1, maxLength: 100 },
        number: { type: "string", pattern: E164_PATTERN, description: "E.164, e.g. +14155550100" },
        reason: { ...text(500), default: null },
      },
    },
  }),
  whisper_enabled: flag,
  tools_enabled: nullable({ type: "array", maxItems: 50, uniqueItems: true, items: identifier }),
  // Keys are tool names (checked in agentRules.ts: OpenAPI 3.0 has no propertyNames).
  tool_instructions: nullable({ type: "object", maxProperties: 50, additionalProperties: { type: "string", maxLength: 2000 } }),
  max_call_duration_minutes: { type: "integer", minimum: 0, maximum: 180, description: "0 = no limit" },
  max_silence_seconds: { type: "integer", minimum: 0, maximum: 600, description: "0 = no limit" },
  variable_definitions: nullable({
    type: "array",
    maxItems: 50,
    items: {
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: {
        name: identifier,
        description: { ...text(500), default: null },
        required: { type: "boolean", default: false },
        default_value: { ...text(2000), default: null },
      },
    },
  }),
} as const;

/** Fields kept in the agent's `settings` until they are promoted to columns (openai_voice already is). */
export const SETTINGS_FIELDS: readonly string[] = [
  ...Object.keys(VAD_FIELD_SCHEMA),
  ...Object.keys(PROVIDER_FIELD_SCHEMA).filter((name) => name !== "openai_voice"),
  ...Object.keys(CALL_FIELD_SCHEMA),
];

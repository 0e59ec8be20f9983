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

/** Fields kept in the agent's `settings` until they are promoted to columns (openai_voice already is). */
export const SETTINGS_FIELDS: readonly string[] = [
  ...Object.keys(VAD_FIELD_SCHEMA),
  ...Object.keys(PROVIDER_FIELD_SCHEMA).filter((name) => name !== "openai_voice"),
];

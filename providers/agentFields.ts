/**
 * Provider-specific agent settings: names, allowed values and defaults (from the Leadlock reference).
 * One flat record, named as the API names them; each adapter reads only its own prefix.
 */

export const OPENAI_VOICES = ["alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse"] as const;
export const OPENAI_VAD_TYPES = ["server_vad", "semantic_vad"] as const;
export const OPENAI_VAD_EAGERNESS = ["low", "medium", "high", "auto"] as const;
export const OPENAI_NOISE_REDUCTION = ["far_field", "near_field", "disabled"] as const;

/** xAI Grok voices; the agent's generic `voice` field names one. */
export const XAI_VOICES = ["ara", "rex", "sal", "eve", "leo"] as const;

/** Gemini Live's 30 prebuilt voices. */
export const GEMINI_VOICES = [
  "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
  "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi", "Laomedeia", "Achernar",
  "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi", "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
] as const;
export const GEMINI_SENSITIVITIES = ["low", "high"] as const;
export const GEMINI_THINKING_LEVELS = ["none", "minimal", "low", "medium", "high"] as const;

export const ELEVENLABS_EAGERNESS = ["low", "normal", "high"] as const;
export const ELEVENLABS_TOOL_CALL_SOUNDS = ["typing", "elevator1", "elevator2", "elevator3", "elevator4", "none"] as const;

export type OpenAIVadType = (typeof OPENAI_VAD_TYPES)[number];
export type OpenAIVadEagerness = (typeof OPENAI_VAD_EAGERNESS)[number];
export type OpenAINoiseReduction = (typeof OPENAI_NOISE_REDUCTION)[number];
export type GeminiSensitivity = (typeof GEMINI_SENSITIVITIES)[number];
export type GeminiThinkingLevel = (typeof GEMINI_THINKING_LEVELS)[number];
export type ElevenLabsEagerness = (typeof ELEVENLABS_EAGERNESS)[number];

export interface EmotionTag {
  readonly name: string;
  readonly description: string;
}

export interface ProviderAgentFields {
  readonly openai_voice: string;
  readonly openai_vad_type: OpenAIVadType;
  readonly openai_vad_eagerness: OpenAIVadEagerness;
  readonly openai_noise_reduction: OpenAINoiseReduction;

  readonly xai_audio_tags: readonly string[] | null;

  readonly gemini_voice: string;
  readonly gemini_start_sensitivity: GeminiSensitivity;
  readonly gemini_end_sensitivity: GeminiSensitivity;
  readonly gemini_thinking_level: GeminiThinkingLevel;
  /** BCP-47, e.g. `en-US`; null lets Gemini detect the language. */
  readonly gemini_language_code: string | null;
  readonly gemini_affective_dialog: boolean;
  readonly gemini_proactive_audio: boolean;
  readonly gemini_top_k: number | null;
  readonly gemini_top_p: number | null;

  /** The agent on the ElevenLabs side that conversations are started with. Required for that provider. */
  readonly elevenlabs_agent_id: string | null;
  readonly elevenlabs_voice_id: string | null;
  readonly elevenlabs_model_id: string;
  readonly elevenlabs_speed: number;
  readonly elevenlabs_eagerness: ElevenLabsEagerness;
  readonly elevenlabs_language: string;
  readonly elevenlabs_additional_languages: readonly string[];
  readonly elevenlabs_stability: number;
  /** null: no cap beyond the call's own limits. */
  readonly elevenlabs_max_duration_seconds: number | null;
  readonly elevenlabs_emotion_tags: readonly EmotionTag[] | null;
  readonly elevenlabs_tool_call_sound: string | null;
  readonly elevenlabs_pre_tool_speech: boolean | null;
}

export const PROVIDER_AGENT_DEFAULTS: ProviderAgentFields = Object.freeze({
  openai_voice: "alloy",
  openai_vad_type: "semantic_vad",
  openai_vad_eagerness: "low",
  openai_noise_reduction: "far_field",
  xai_audio_tags: null,
  gemini_voice: "Puck",
  gemini_start_sensitivity: "low",
  // LOW on 8 kHz telephony audio causes 15–30 s end-of-turn delays (Leadlock reference).
  gemini_end_sensitivity: "high",
  gemini_thinking_level: "none",
  gemini_language_code: null,
  gemini_affective_dialog: false,
  gemini_proactive_audio: false,
  gemini_top_k: null,
  gemini_top_p: null,
  elevenlabs_agent_id: null,
  elevenlabs_voice_id: null,
  elevenlabs_model_id: "gpt-4o-mini",
  elevenlabs_speed: 1.0,
  elevenlabs_eagerness: "normal",
  elevenlabs_language: "en",
  elevenlabs_additional_languages: [],
  elevenlabs_stability: 0.5,
  elevenlabs_max_duration_seconds: null,
  elevenlabs_emotion_tags: null,
  elevenlabs_tool_call_sound: "typing",
  elevenlabs_pre_tool_speech: true,
});

export const PROVIDER_AGENT_FIELD_NAMES = Object.keys(PROVIDER_AGENT_DEFAULTS) as readonly (keyof ProviderAgentFields)[];

/**
 * ElevenLabs Agents wire mapping: which server events we act on, and how our agent settings and commands
 * become client messages. Pure data translation, typed with `@elevenlabs/types`.
 */
import type {
  AgentResponse,
  AgentResponseCorrection,
  Audio,
  ClientToolCallMessage,
  ConversationConfigOverride,
  ConversationMetadata,
  ErrorEvent,
  ErrorMessage,
  Interruption,
  Outgoing,
  Ping,
  UserTranscript,
  VadScore,
} from "@elevenlabs/types";
import { ProviderError, type ProviderSessionConfig } from "../types.js";
import { overrideLanguage } from "./languages.js";

/** Every server message the session reacts to (or deliberately ignores, like `vad_score`). */
export type HandledServerEvent =
  | ConversationMetadata
  | Audio
  | Interruption
  | AgentResponse
  | AgentResponseCorrection
  | UserTranscript
  | Ping
  | ClientToolCallMessage
  | VadScore
  | ErrorMessage;

const HANDLED: ReadonlySet<string> = new Set<HandledServerEvent["type"]>([
  "conversation_initiation_metadata", "audio", "interruption", "agent_response", "agent_response_correction",
  "user_transcript", "ping", "client_tool_call", "vad_score", "error",
]);

/** Parses one text frame; null for anything that is not a message type we handle (new types are ignored). */
export function parseServerEvent(text: string): HandledServerEvent | null {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null || !("type" in value) || typeof value.type !== "string") return null;
  return HANDLED.has(value.type) ? (value as HandledServerEvent) : null;
}

/**
 * `{"user_audio_chunk":"…"}` as a string: the Twilio payload goes in untouched, and concatenation skips a
 * per-frame object and `JSON.stringify` (base64 never needs escaping).
 */
const AUDIO_PREFIX = '{"user_audio_chunk":"';
const AUDIO_SUFFIX = '"}';

export function userAudioFrame(payloadB64: string): string {
  return AUDIO_PREFIX + payloadB64 + AUDIO_SUFFIX;
}

export function pongEvent(eventId: number): Outgoing.PongClientToOrchestratorEvent {
  return { type: "pong", event_id: eventId };
}

/** Background the agent reads without being asked to reply. */
export function contextualUpdateEvent(text: string): Outgoing.ContextualUpdateClientToOrchestratorEvent {
  return { type: "contextual_update", text };
}

/**
 * ElevenLabs has no "reply now" command without words: this user message asks for the agent's next
 * turn when `requestReply(null)` gives no instructions.
 */
export const CONTINUE_PROMPT = "(No new words from the caller. Continue the conversation with your next reply.)";

/**
 * Text the agent answers as a user turn: ElevenLabs' only way to make the agent speak on demand. It
 * has no per-reply instructions and no "speak this text", so `say` and `requestReply` both go through
 * it (the message stays in the conversation as something the user wrote).
 */
export function userMessageEvent(text: string): Outgoing.UserMessageClientToOrchestratorEvent {
  return { type: "user_message", text };
}

/** Our tool outputs are JSON; one with an `error` key is a failed call, and ElevenLabs should know it. */
export function toolResultEvent(toolCallId: string, output: string): Outgoing.ClientToolResultClientToOrchestratorEvent {
  return { type: "client_tool_result", tool_call_id: toolCallId, result: output, is_error: isErrorOutput(output) };
}

function isErrorOutput(output: string): boolean {
  try {
    const value: unknown = JSON.parse(output);
    return typeof value === "object" && value !== null && !Array.isArray(value) && "error" in value;
  } catch {
    return false;
  }
}

/**
 * What the agent says first. An empty `first_message` is how ElevenLabs expresses "wait for the caller";
 * with no greeting text of ours the agent's own configured first message stands (undefined: not overridden).
 */
function firstMessage(config: ProviderSessionConfig): string | undefined {
  if (!config.aiSpeaksFirst) return "";
  return config.greeting === null || config.greeting.trim() === "" ? undefined : config.greeting;
}

/**
 * The per-call overrides. Only what `conversation_config_override` can carry: prompt, LLM, first message,
 * language and TTS voice/speed/stability. The agent must allow these overrides in its security settings.
 */
export function configOverride(config: ProviderSessionConfig): ConversationConfigOverride {
  const agent = config.agent;
  // Only what the agent set: an override the ElevenLabs agent doesn't allow aborts the conversation, and a
  // default sent anyway would replace the LLM or voice settings chosen on ElevenLabs.
  const set = (field: keyof typeof agent): boolean => config.agentFieldsSet.has(field);
  const language = set("elevenlabs_language") ? overrideLanguage(agent.elevenlabs_language) : undefined;
  if (language === null) {
    throw new ProviderError(
      "provider_connect_failed",
      `elevenlabs_language "${agent.elevenlabs_language}" is not a language ElevenLabs agents accept (e.g. "en", "pt-br")`,
      false,
    );
  }
  const first = firstMessage(config);
  const tts = {
    ...(agent.elevenlabs_voice_id === null ? {} : { voice_id: agent.elevenlabs_voice_id }),
    ...(set("elevenlabs_speed") ? { speed: agent.elevenlabs_speed } : {}),
    ...(set("elevenlabs_stability") ? { stability: agent.elevenlabs_stability } : {}),
  };
  return {
    agent: {
      prompt: { prompt: config.instructions, ...(set("elevenlabs_model_id") ? { llm: agent.elevenlabs_model_id } : {}) },
      ...(first === undefined ? {} : { first_message: first }),
      ...(language === undefined ? {} : { language }),
    },
    ...(Object.keys(tts).length > 0 ? { tts } : {}),
  };
}

/** The first client message on the socket: overrides plus the call facts as dynamic variables. */
export function initiationEvent(config: ProviderSessionConfig): Outgoing.ConversationInitiationClientToOrchestratorEvent {
  return {
    type: "conversation_initiation_client_data",
    conversation_config_override: configOverride(config),
    dynamic_variables: { ...config.variables },
  };
}

export function errorEventText(event: ErrorEvent): string {
  const kind = event.error_type === undefined ? "" : ` ${event.error_type}`;
  const detail = event.message ?? event.reason ?? event.debug_message ?? "no message";
  return `ElevenLabs error${kind} (code ${event.code}): ${detail}`;
}

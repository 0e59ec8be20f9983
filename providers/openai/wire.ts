/**
 * OpenAI Realtime (GA) wire mapping: which server events we act on, and how our agent settings and
 * commands become client events. Pure data translation, typed with the SDK's published event types.
 */
import type {
  ConversationItemCreateEvent,
  ConversationItemTruncateEvent,
  RealtimeFunctionTool,
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
  ResponseCancelEvent,
  ResponseCreateEvent,
  SessionUpdateEvent,
} from "openai/resources/realtime/realtime";
import type { ProviderSessionConfig, ToolDefinition } from "../types.js";

/** The server events the session reacts to; every other type is ignored after one Set lookup. */
export const HANDLED_SERVER_EVENT_TYPES = [
  "input_audio_buffer.speech_started",
  "response.created",
  "response.output_audio.delta",
  "response.output_audio_transcript.delta",
  "response.output_audio_transcript.done",
  "conversation.item.input_audio_transcription.completed",
  "response.function_call_arguments.done",
  "response.done",
  "error",
] as const;

export type HandledServerEventType = (typeof HANDLED_SERVER_EVENT_TYPES)[number];
export type HandledServerEvent = Extract<RealtimeServerEvent, { type: HandledServerEventType }>;

const HANDLED: ReadonlySet<string> = new Set<string>(HANDLED_SERVER_EVENT_TYPES);

export function isHandledServerEvent(event: RealtimeServerEvent): event is HandledServerEvent {
  return HANDLED.has(event.type);
}

/** Caller speech is transcribed by this model; the cheap one is plenty for a call log. */
export const CALLER_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe";

/**
 * Benign race: server VAD (`interrupt_response`) may cancel the reply just before our own
 * `response.cancel` arrives, and the API answers with this code.
 */
export const CANCEL_NOT_ACTIVE_CODE = "response_cancel_not_active";

/**
 * `input_audio_buffer.append` as a string: the Twilio payload goes in untouched, and concatenation
 * skips a per-frame object and `JSON.stringify` (base64 never needs escaping).
 */
const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"';
const APPEND_SUFFIX = '"}';

export function appendAudioFrame(payloadB64: string): string {
  return APPEND_PREFIX + payloadB64 + APPEND_SUFFIX;
}

function functionTool(tool: ToolDefinition): RealtimeFunctionTool {
  return { type: "function", name: tool.name, description: tool.description, parameters: tool.parameters };
}

/** GA session: μ-law both ways so Twilio audio passes through; `temperature` has no GA field. */
export function sessionUpdateEvent(config: ProviderSessionConfig): SessionUpdateEvent {
  const session: RealtimeSessionCreateRequest = {
    type: "realtime",
    instructions: config.instructions,
    output_modalities: ["audio"],
    audio: {
      input: {
        format: { type: "audio/pcmu" },
        transcription: { model: CALLER_TRANSCRIPTION_MODEL },
        turn_detection: {
          type: "server_vad",
          threshold: config.vad.threshold,
          prefix_padding_ms: config.vad.prefixPaddingMs,
          silence_duration_ms: config.vad.silenceDurationMs,
          create_response: true,
          interrupt_response: true,
        },
      },
      output: { format: { type: "audio/pcmu" }, voice: config.voice },
    },
    tools: config.tools.map(functionTool),
  };
  return { type: "session.update", session };
}

/** The opening turn: the scripted greeting verbatim, or whatever the model opens with. */
export function greetingResponseEvent(greeting: string | null): ResponseCreateEvent {
  const text = greeting?.trim() ?? "";
  if (text === "") return { type: "response.create" };
  return {
    type: "response.create",
    response: {
      instructions: `Greet the caller by saying exactly the following, word for word, and nothing else: "${text}"`,
    },
  };
}

export const RESPONSE_CREATE: ResponseCreateEvent = Object.freeze({ type: "response.create" });
export const RESPONSE_CANCEL: ResponseCancelEvent = Object.freeze({ type: "response.cancel" });

/** Cuts the model's memory of an assistant item at what the caller actually heard. */
export function truncateEvent(itemId: string, audioEndMs: number): ConversationItemTruncateEvent {
  return { type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: audioEndMs };
}

export function toolOutputEvent(callId: string, output: string): ConversationItemCreateEvent {
  return { type: "conversation.item.create", item: { type: "function_call_output", call_id: callId, output } };
}

/**
 * The GA Realtime events every OpenAI-compatible vendor shares: which server events a session acts on,
 * and the client events whose shape does not vary by vendor. Pure data, typed with the SDK's event types.
 */
import type {
  ConversationItemCreateEvent,
  RealtimeFunctionTool,
  RealtimeServerEvent,
  ResponseCreateEvent,
} from "openai/resources/realtime/realtime";
import type { ToolDefinition } from "../types.js";

/** The server events a session reacts to; every other type is ignored after one Set lookup. */
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

/**
 * `input_audio_buffer.append` as a string: the Twilio payload goes in untouched, and concatenation
 * skips a per-frame object and `JSON.stringify` (base64 never needs escaping).
 */
const APPEND_PREFIX = '{"type":"input_audio_buffer.append","audio":"';
const APPEND_SUFFIX = '"}';

export function appendAudioFrame(payloadB64: string): string {
  return APPEND_PREFIX + payloadB64 + APPEND_SUFFIX;
}

export function functionTool(tool: ToolDefinition): RealtimeFunctionTool {
  return { type: "function", name: tool.name, description: tool.description, parameters: tool.parameters };
}

/**
 * Our `session.update` carries this id so an `error` naming it is recognisable: a rejected configuration
 * leaves the vendor's default audio format (PCM16 24 kHz), which would be static on a μ-law line.
 */
export const SESSION_UPDATE_EVENT_ID = "patchbay_session_update";

export const RESPONSE_CREATE: ResponseCreateEvent = Object.freeze({ type: "response.create" });

/**
 * One reply steered by `instructions`. The API lets a response's `instructions` stand in for the
 * session's for that response only; the rest of the session (voice, tools, audio) stays.
 */
export function instructedResponseEvent(instructions: string): ResponseCreateEvent {
  return { type: "response.create", response: { instructions } };
}

export function toolOutputEvent(callId: string, output: string): ConversationItemCreateEvent {
  return { type: "conversation.item.create", item: { type: "function_call_output", call_id: callId, output } };
}

/** A user text item the model reads as context; with no `response.create` after it, nothing answers it now. */
export function contextItemEvent(text: string): ConversationItemCreateEvent {
  return { type: "conversation.item.create", item: { type: "message", role: "user", content: [{ type: "input_text", text }] } };
}

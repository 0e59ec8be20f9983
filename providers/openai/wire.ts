/**
 * OpenAI Realtime (GA) wire mapping: how our agent settings and barge-in become OpenAI client events.
 * Pure data translation, typed with the SDK's published event types (shared GA events live in
 * ../openaiCompatible/wire.ts).
 */
import type {
  ConversationItemTruncateEvent,
  RealtimeAudioConfigInput,
  RealtimeAudioConfigOutput,
  RealtimeAudioInputTurnDetection,
  RealtimeSessionCreateRequest,
  ResponseCancelEvent,
  ResponseCreateEvent,
} from "openai/resources/realtime/realtime";
import type { ProviderSessionConfig } from "../types.js";
import { SESSION_UPDATE_EVENT_ID, functionTool } from "../openaiCompatible/wire.js";

export { appendAudioFrame, instructedResponseEvent } from "../openaiCompatible/wire.js";

/** Caller speech is transcribed by this model; the cheap one is plenty for a call log. */
export const CALLER_TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe";

/**
 * Benign race: server VAD (`interrupt_response`) may cancel the reply just before our own
 * `response.cancel` arrives, and the API answers with this code.
 */
export const CANCEL_NOT_ACTIVE_CODE = "response_cancel_not_active";

/** The API documents `noise_reduction: null` as "off", but the SDK's request type omits null. */
export type OpenAIAudioInput = Omit<RealtimeAudioConfigInput, "noise_reduction"> & {
  noise_reduction?: RealtimeAudioConfigInput.NoiseReduction | null;
};

export type OpenAISessionRequest = Omit<RealtimeSessionCreateRequest, "audio"> & {
  audio: { input: OpenAIAudioInput; output: RealtimeAudioConfigOutput };
};

/** `session.update` as we send it: the SDK's GA shape, widened only where the SDK type lags the API. */
export interface OpenAISessionUpdateEvent {
  type: "session.update";
  session: OpenAISessionRequest;
  event_id: string;
}

/** The agent's `openai_vad_type`: server VAD tuned by the agent's VAD fields, or semantic VAD by eagerness. */
export function turnDetection(config: ProviderSessionConfig): RealtimeAudioInputTurnDetection {
  switch (config.agent.openai_vad_type) {
    case "server_vad":
      return {
        type: "server_vad",
        threshold: config.vad.threshold,
        prefix_padding_ms: config.vad.prefixPaddingMs,
        silence_duration_ms: config.vad.silenceDurationMs,
        create_response: true,
        interrupt_response: true,
      };
    case "semantic_vad":
      return {
        type: "semantic_vad",
        eagerness: config.agent.openai_vad_eagerness,
        create_response: true,
        interrupt_response: true,
      };
  }
}

export function noiseReduction(config: ProviderSessionConfig): RealtimeAudioConfigInput.NoiseReduction | null {
  switch (config.agent.openai_noise_reduction) {
    case "far_field":
    case "near_field":
      return { type: config.agent.openai_noise_reduction };
    case "disabled":
      return null;
  }
}

/** GA session: μ-law both ways so Twilio audio passes through; `temperature` has no GA field. */
export function sessionUpdateEvent(config: ProviderSessionConfig): OpenAISessionUpdateEvent {
  return {
    type: "session.update",
    event_id: SESSION_UPDATE_EVENT_ID,
    session: {
      type: "realtime",
      instructions: config.instructions,
      output_modalities: ["audio"],
      audio: {
        input: {
          format: { type: "audio/pcmu" },
          noise_reduction: noiseReduction(config),
          transcription: { model: CALLER_TRANSCRIPTION_MODEL },
          turn_detection: turnDetection(config),
        },
        output: { format: { type: "audio/pcmu" }, voice: config.voice },
      },
      tools: config.tools.map(functionTool),
    },
  };
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

/** The agent's prompt, then this reply's own instructions (a response's instructions replace the session's). */
export function guidedInstructions(sessionInstructions: string, replyInstructions: string): string {
  const base = sessionInstructions.trim();
  return base === "" ? replyInstructions : `${base}\n\nFor this reply only: ${replyInstructions}`;
}

export const RESPONSE_CANCEL: ResponseCancelEvent = Object.freeze({ type: "response.cancel" });

/** Cuts the model's memory of an assistant item at what the caller actually heard. */
export function truncateEvent(itemId: string, audioEndMs: number): ConversationItemTruncateEvent {
  return { type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: audioEndMs };
}

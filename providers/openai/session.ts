/** One OpenAI Realtime conversation over an open SDK socket: commands out, typed callbacks in. */
import type { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { OpenAIRealtimeError } from "openai/realtime/internal-base";
import type {
  ConversationItem,
  RealtimeClientEvent,
  RealtimeErrorEvent,
  RealtimeServerEvent,
  ResponseAudioDeltaEvent,
  ResponseDoneEvent,
} from "openai/resources/realtime/realtime";
import { MULAW_8K, mulawBase64Ms } from "../../media/audioFormat.js";
import {
  ProviderError,
  type ProviderCapabilities,
  type ProviderSessionConfig,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import {
  CANCEL_NOT_ACTIVE_CODE,
  RESPONSE_CANCEL,
  RESPONSE_CREATE,
  appendAudioFrame,
  greetingResponseEvent,
  isHandledServerEvent,
  sessionUpdateEvent,
  toolOutputEvent,
  truncateEvent,
  type HandledServerEvent,
} from "./wire.js";

export const OPENAI_CAPABILITIES: ProviderCapabilities = Object.freeze({
  canTruncate: true,
  hasServerVad: true,
  transcribesCaller: true,
});

/** After our close frame, how long the server gets to answer before the socket is cut. */
export const CLOSE_GRACE_MS = 2_000;

const WS_OPEN = 1;

type SessionState = "connecting" | "live" | "closing" | "closed";

function isAssistantMessage(item: ConversationItem): boolean {
  return item.type === "message" && item.role === "assistant";
}

function errorText(event: RealtimeErrorEvent): string {
  const { type, code, message } = event.error;
  return `OpenAI ${type}${code ? ` (${code})` : ""}: ${message}`;
}

export class OpenAIRealtimeSession implements RealtimeSession {
  readonly capabilities = OPENAI_CAPABILITIES;
  readonly inputFormat = MULAW_8K;
  readonly outputFormat = MULAW_8K;

  readonly #rt: OpenAIRealtimeWS;
  /** The SDK's underlying socket: audio frames skip the SDK's per-event stringify. */
  readonly #socket: OpenAIRealtimeWS["socket"];
  readonly #config: ProviderSessionConfig;
  readonly #handlers: RealtimeSessionHandlers;
  #state: SessionState = "connecting";
  /** Set from `response.created` to `response.done`: whether a `response.cancel` has anything to stop. */
  #activeResponseId: string | null = null;
  /** We sent `response.create` and its `response.created` has not arrived yet. */
  #responseRequested = false;
  /** The assistant item whose audio is arriving, and how many ms of it we received (caps truncation). */
  #audioItemId: string | null = null;
  #audioItemMs = 0;
  /** A socket error seen before the close it causes; becomes the close error's cause. */
  #transportError: Error | null = null;
  #closeTimer: NodeJS.Timeout | null = null;

  /** Listens from the moment the socket exists so no SDK error goes unhandled; `begin()` goes live. */
  constructor(rt: OpenAIRealtimeWS, config: ProviderSessionConfig, handlers: RealtimeSessionHandlers) {
    this.#rt = rt;
    this.#socket = rt.socket;
    this.#config = config;
    this.#handlers = handlers;
    rt.on("event", (event) => this.#onEvent(event));
    rt.on("error", (error) => this.#onSdkError(error));
    this.#socket.on("close", (code, reason) => this.#onSocketClose(code, reason.toString()));
  }

  /** Socket is open: configure the session. Not waiting for `session.updated` saves a round trip. */
  begin(): void {
    this.#state = "live";
    this.#rt.send(sessionUpdateEvent(this.#config));
  }

  appendAudio(payloadB64: string): void {
    // Hot path: one string concat, straight to the socket (the SDK's send would stringify an object).
    if (this.#state === "live") this.#socket.send(appendAudioFrame(payloadB64));
  }

  startGreeting(): void {
    this.#requestResponse();
    this.#send(greetingResponseEvent(this.#config.greeting));
  }

  interrupt(itemId: string | null, playedMs: number): void {
    if (this.#state !== "live") return;
    if (this.#activeResponseId !== null || this.#responseRequested) {
      this.#rt.send(RESPONSE_CANCEL);
      this.#activeResponseId = null;
      this.#responseRequested = false;
    }
    if (itemId !== null) this.#rt.send(truncateEvent(itemId, this.#truncationPoint(itemId, playedMs)));
  }

  sendToolResult(callId: string, output: string): void {
    this.#send(toolOutputEvent(callId, output));
    this.#requestResponse();
    this.#send(RESPONSE_CREATE);
  }

  close(): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    this.#rt.close({ code: 1000, reason: "call ended" });
    // A server that never answers our close frame must not hold the call open.
    this.#closeTimer = setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS);
    this.#closeTimer.unref();
  }

  #send(event: RealtimeClientEvent): void {
    if (this.#state === "live") this.#rt.send(event);
  }

  #requestResponse(): void {
    if (this.#state === "live") this.#responseRequested = true;
  }

  /** The API rejects a truncation past the audio it sent, so never ask for more than we received. */
  #truncationPoint(itemId: string, playedMs: number): number {
    const played = Math.max(0, Math.floor(playedMs));
    return itemId === this.#audioItemId ? Math.min(played, Math.floor(this.#audioItemMs)) : played;
  }

  #onEvent(event: RealtimeServerEvent): void {
    if (this.#state !== "live" || !isHandledServerEvent(event)) return;
    try {
      this.#dispatch(event);
    } catch (cause) {
      // A throwing handler must not escape into the socket's emitter and take the process down.
      this.#report(new ProviderError("provider_protocol_error", `handling ${event.type} failed`, true, { cause }));
    }
  }

  #dispatch(event: HandledServerEvent): void {
    switch (event.type) {
      case "input_audio_buffer.speech_started":
        this.#handlers.onSpeechStarted();
        break;
      case "response.created":
        this.#activeResponseId = event.response.id ?? "";
        this.#responseRequested = false;
        break;
      case "response.output_audio.delta":
        this.#onAudioDelta(event);
        break;
      case "response.output_audio_transcript.delta":
        this.#handlers.onTranscript("agent", event.delta, false);
        break;
      case "response.output_audio_transcript.done":
        this.#handlers.onTranscript("agent", event.transcript, true);
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.#handlers.onTranscript("caller", event.transcript, true);
        break;
      case "response.function_call_arguments.done":
        this.#handlers.onToolCall(event.call_id, event.name, event.arguments);
        break;
      case "response.done":
        this.#onResponseDone(event);
        break;
      case "error":
        this.#onErrorEvent(event);
        break;
    }
  }

  #onAudioDelta(event: ResponseAudioDeltaEvent): void {
    if (event.item_id !== this.#audioItemId) {
      this.#audioItemId = event.item_id;
      this.#audioItemMs = 0;
    }
    this.#audioItemMs += mulawBase64Ms(event.delta);
    this.#handlers.onAudio(event.delta, event.item_id);
  }

  #onResponseDone(event: ResponseDoneEvent): void {
    this.#activeResponseId = null;
    const item = event.response.output?.find(isAssistantMessage);
    this.#handlers.onResponseDone(item?.id ?? null, event.response.status ?? "unknown");
  }

  #onErrorEvent(event: RealtimeErrorEvent): void {
    if (event.error.code === CANCEL_NOT_ACTIVE_CODE) return;
    this.#handlers.onError(new ProviderError("provider_error_event", errorText(event), true, { cause: event.error }));
  }

  /** SDK errors: API error events (already dispatched), unparseable frames, or transport failures. */
  #onSdkError(error: OpenAIRealtimeError): void {
    if (error.error !== undefined) return;
    if (this.#state === "live" && this.#socket.readyState === WS_OPEN) {
      this.#report(new ProviderError("provider_protocol_error", error.message, true, { cause: error.cause }));
      return;
    }
    // The socket is going down: the close that follows reports it, with this as the cause.
    this.#transportError = error;
  }

  #onSocketClose(code: number, reason: string): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    const previous = this.#state;
    this.#state = "closed";
    // Before `begin()` the connect promise reports the failure; the caller has no session yet.
    if (previous === "connecting" || previous === "closed") return;
    if (previous === "live") {
      const detail = reason === "" ? `code ${code}` : `code ${code}: ${reason}`;
      const cause = this.#transportError ?? undefined;
      this.#report(new ProviderError("provider_socket_closed", `OpenAI socket closed (${detail})`, false, { cause }));
    }
    try {
      this.#handlers.onClosed({ clean: previous === "closing", code, reason });
    } catch {
      // Deliberately dropped: the session is over and a throw here would escape into the socket's emitter.
    }
  }

  /** Reports to the caller; if its own error handler throws there is nowhere left to send it. */
  #report(error: ProviderError): void {
    try {
      this.#handlers.onError(error);
    } catch {
      // Deliberately dropped: rethrowing here would surface inside the socket's emitter.
    }
  }
}

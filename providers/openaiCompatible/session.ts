/**
 * The part of a GA Realtime conversation every OpenAI-compatible vendor shares: the socket's life
 * (live → closing → closed, `onClosed` exactly once), audio in, GA server events out to the handlers.
 * A vendor subclass says how the session is configured, how the opening turn starts and what barge-in does.
 */
import type { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { OpenAIRealtimeError } from "openai/realtime/internal-base";
import type {
  RealtimeClientEvent,
  RealtimeErrorEvent,
  RealtimeServerEvent,
  ResponseAudioDeltaEvent,
  ResponseDoneEvent,
} from "openai/resources/realtime/realtime";
import { MULAW_8K } from "../../media/audioFormat.js";
import {
  ProviderError,
  type ProviderCapabilities,
  type ProviderSessionConfig,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { verbatimInstruction } from "../verbatim.js";
import {
  RESPONSE_CREATE,
  SESSION_UPDATE_EVENT_ID,
  appendAudioFrame,
  contextItemEvent,
  isHandledServerEvent,
  toolOutputEvent,
  type HandledServerEvent,
} from "./wire.js";

/** After our close frame, how long the server gets to answer before the socket is cut. */
export const CLOSE_GRACE_MS = 2_000;

const WS_OPEN = 1;

type SessionState = "connecting" | "live" | "closing" | "closed";

function errorText(vendor: string, event: RealtimeErrorEvent): string {
  const { type, code, message } = event.error;
  return `${vendor} ${type}${code ? ` (${code})` : ""}: ${message}`;
}

/** The tool follow-up: one is enough however many results arrive while the response is open. */
function isBareResponse(events: readonly RealtimeClientEvent[]): boolean {
  return events.length === 1 && events[0] === RESPONSE_CREATE;
}

export abstract class GaRealtimeSession implements RealtimeSession {
  abstract readonly capabilities: ProviderCapabilities;
  readonly inputFormat = MULAW_8K;
  readonly outputFormat = MULAW_8K;

  protected readonly config: ProviderSessionConfig;
  protected readonly handlers: RealtimeSessionHandlers;
  readonly #vendor: string;
  readonly #rt: OpenAIRealtimeWS;
  /** The SDK's underlying socket: audio frames skip the SDK's per-event stringify. */
  readonly #socket: OpenAIRealtimeWS["socket"];
  #state: SessionState = "connecting";
  /** Set from `response.created` to `response.done`. */
  #activeResponseId: string | null = null;
  /** We sent `response.create` and its `response.created` has not arrived yet. */
  #responseRequested = false;
  /** Replies asked for while one was open (a second `response.create` would be refused): sent one per `response.done`. */
  readonly #queuedReplies: (readonly RealtimeClientEvent[])[] = [];
  /** A socket error seen before the close it causes; becomes the close error's cause. */
  #transportError: Error | null = null;
  #closeTimer: NodeJS.Timeout | null = null;

  /** Listens from the moment the socket exists so no SDK error goes unhandled; `begin()` goes live. */
  constructor(vendor: string, rt: OpenAIRealtimeWS, config: ProviderSessionConfig, handlers: RealtimeSessionHandlers) {
    this.#vendor = vendor;
    this.#rt = rt;
    this.#socket = rt.socket;
    this.config = config;
    this.handlers = handlers;
    rt.on("event", (event) => this.#onEvent(event));
    rt.on("error", (error) => this.#onSdkError(error));
    this.#socket.on("close", (code, reason) => this.#onSocketClose(code, reason.toString()));
  }

  /** Socket is open: configure the session. Not waiting for the update's ack saves a round trip. */
  begin(): void {
    this.#state = "live";
    this.configure();
  }

  appendAudio(payloadB64: string): void {
    // Hot path: one string concat, straight to the socket (the SDK's send would stringify an object).
    if (this.#state === "live") this.#socket.send(appendAudioFrame(payloadB64));
  }

  startGreeting(): void {
    this.#requestResponse();
    this.sendEvent(this.greetingEvent());
  }

  abstract interrupt(itemId: string | null, playedMs: number): void;

  sendToolResult(callId: string, output: string): void {
    this.sendEvent(toolOutputEvent(callId, output));
    // The response that called the tool may still be open (a result answered at once): a second
    // response.create would be refused, so the follow-up waits for its response.done.
    if (this.#activeResponseId !== null) {
      if (!this.#queuedReplies.some(isBareResponse)) this.#queuedReplies.push([RESPONSE_CREATE]);
      return;
    }
    this.#requestResponse();
    this.sendEvent(RESPONSE_CREATE);
  }

  say(text: string): void {
    this.#reply(this.replyEvents(verbatimInstruction(text), "verbatim"));
  }

  requestReply(instructions: string | null): void {
    this.#reply(instructions === null ? [RESPONSE_CREATE] : this.replyEvents(instructions, "guided"));
  }

  addContext(text: string): void {
    this.sendEvent(contextItemEvent(text));
  }

  close(): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    this.#rt.close({ code: 1000, reason: "call ended" });
    // A server that never answers our close frame must not hold the call open.
    this.#closeTimer = setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS);
    this.#closeTimer.unref();
  }

  /** Sends the vendor's session configuration; called once, as the socket opens. */
  protected abstract configure(): void;

  /** The client event that opens the agent's first turn. */
  protected abstract greetingEvent(): RealtimeClientEvent;

  /**
   * The client events that start one reply guided by `instructions`: `verbatim` when they are the
   * word-for-word wrapper of `say`, `guided` when they steer a reply the model words itself.
   */
  protected abstract replyEvents(instructions: string, kind: "verbatim" | "guided"): readonly RealtimeClientEvent[];

  /** Vendor hook per audio chunk (hot path): false drops it before it reaches the call. */
  protected acceptAudio(_event: ResponseAudioDeltaEvent): boolean {
    return true;
  }

  /** Vendor hook: a reply started. `requested` says whether it answers our own `response.create`. */
  protected responseStarted(_requested: boolean): void {}

  /** Vendor hook: true for error events that are benign races, not worth reporting. */
  protected ignoresError(_event: RealtimeErrorEvent): boolean {
    return false;
  }

  protected get live(): boolean {
    return this.#state === "live";
  }

  /** Whether a reply is generating, or one we asked for has not started yet. */
  protected get responseInFlight(): boolean {
    return this.#activeResponseId !== null || this.#responseRequested;
  }

  /** We asked for a reply (`response.create`) and it has not started yet. */
  protected get responseRequested(): boolean {
    return this.#responseRequested;
  }

  /** Forget the in-flight reply (after cancelling it): the next `response.created` is a new one. */
  protected forgetResponseInFlight(): void {
    this.#activeResponseId = null;
    this.#responseRequested = false;
  }

  protected sendEvent(event: RealtimeClientEvent): void {
    if (this.#state === "live") this.#rt.send(event);
  }

  /** For vendor events the SDK's client event union does not describe. */
  protected sendJson(event: object): void {
    if (this.#state === "live") this.#socket.send(JSON.stringify(event));
  }

  /** Sends a reply's events now, or after the open reply's `response.done` (one reply at a time). */
  #reply(events: readonly RealtimeClientEvent[]): void {
    if (!this.live) return;
    if (this.responseInFlight || this.#queuedReplies.length > 0) {
      this.#queuedReplies.push(events);
      return;
    }
    this.#sendReply(events);
  }

  #sendReply(events: readonly RealtimeClientEvent[]): void {
    this.#requestResponse();
    for (const event of events) this.sendEvent(event);
  }

  #requestResponse(): void {
    if (this.#state === "live") this.#responseRequested = true;
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
        this.handlers.onSpeechStarted();
        break;
      case "response.created": {
        const requested = this.#responseRequested;
        this.#activeResponseId = event.response.id ?? "";
        this.#responseRequested = false;
        this.responseStarted(requested);
        break;
      }
      case "response.output_audio.delta":
        if (this.acceptAudio(event)) this.handlers.onAudio(event.delta, event.item_id);
        break;
      case "response.output_audio_transcript.delta":
        this.handlers.onTranscript("agent", event.delta, false);
        break;
      case "response.output_audio_transcript.done":
        this.handlers.onTranscript("agent", event.transcript, true);
        break;
      case "conversation.item.input_audio_transcription.completed":
        this.handlers.onTranscript("caller", event.transcript, true);
        break;
      case "response.function_call_arguments.done":
        this.handlers.onToolCall(event.call_id, event.name, event.arguments);
        break;
      case "response.done":
        this.#onResponseDone(event);
        break;
      case "error":
        if (!this.ignoresError(event)) {
          // A rejected configuration leaves the wrong audio format on the line: the call can't go on.
          const recoverable = event.error.event_id !== SESSION_UPDATE_EVENT_ID;
          const text = recoverable ? errorText(this.#vendor, event) : `${errorText(this.#vendor, event)} (rejected our session configuration)`;
          this.handlers.onError(new ProviderError("provider_error_event", text, recoverable, { cause: event.error }));
        }
        break;
    }
  }

  #onResponseDone(event: ResponseDoneEvent): void {
    this.#activeResponseId = null;
    const item = event.response.output?.find((i) => i.type === "message" && i.role === "assistant");
    this.handlers.onResponseDone(item?.id ?? null, event.response.status ?? "unknown");
    const next = this.#responseRequested ? undefined : this.#queuedReplies.shift();
    if (next !== undefined) this.#sendReply(next);
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
    this.#closeTimer = null;
    const previous = this.#state;
    this.#state = "closed";
    // Before `begin()` the connect promise reports the failure; the caller has no session yet.
    if (previous === "connecting" || previous === "closed") return;
    if (previous === "live") {
      const detail = reason === "" ? `code ${code}` : `code ${code}: ${reason}`;
      const cause = this.#transportError ?? undefined;
      this.#report(new ProviderError("provider_socket_closed", `${this.#vendor} socket closed (${detail})`, false, { cause }));
    }
    try {
      this.handlers.onClosed({ clean: previous === "closing", code, reason });
    } catch {
      // Deliberately dropped: the session is over and a throw here would escape into the socket's emitter.
    }
  }

  /** Reports to the caller; if its own error handler throws there is nowhere left to send it. */
  #report(error: ProviderError): void {
    try {
      this.handlers.onError(error);
    } catch {
      // Deliberately dropped: rethrowing here would surface inside the socket's emitter.
    }
  }
}

/** One ElevenLabs Agents conversation over a `ws` socket: handshake, caller audio out, typed callbacks in. */
import type { IncomingMessage } from "node:http";
import type { RawData, WebSocket } from "ws";
import type { Audio, ClientToolCallMessage, ConversationMetadata, Outgoing } from "@elevenlabs/types";
import { MULAW_8K, type AudioFormat } from "../../media/audioFormat.js";
import {
  ProviderError,
  type ProviderCapabilities,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { AgentLines } from "./agentLines.js";
import { AgentTurns, type TurnEndStatus } from "./agentTurns.js";
import type { ConnectDeadline } from "./connectDeadline.js";
import { audioFormatOf } from "./formats.js";
import { GreetingHold } from "./greetingHold.js";
import { ReplyQuiet } from "./replyQuiet.js";
import { verbatimInstruction } from "../verbatim.js";
import {
  CONTINUE_PROMPT,
  contextualUpdateEvent,
  errorEventText,
  parseServerEvent,
  pongEvent,
  toolResultEvent,
  userAudioFrame,
  userMessageEvent,
  type HandledServerEvent,
} from "./wire.js";

/** ElevenLabs runs its own VAD and turn-taking and transcribes the caller; it cannot cut a reply at a point. */
export const ELEVENLABS_CAPABILITIES: ProviderCapabilities = Object.freeze({
  canTruncate: false,
  hasServerVad: true,
  needsLocalTurns: false,
  transcribesCaller: true,
});

/** After our close frame, how long the server gets to answer before the socket is cut. */
export const CLOSE_GRACE_MS = 2_000;

type SessionState = "connecting" | "live" | "closing" | "closed";
type ClientMessage =
  | Outgoing.ConversationInitiationClientToOrchestratorEvent
  | Outgoing.PongClientToOrchestratorEvent
  | Outgoing.ClientToolResultClientToOrchestratorEvent
  | Outgoing.ContextualUpdateClientToOrchestratorEvent
  | Outgoing.UserMessageClientToOrchestratorEvent;

interface Handshake {
  readonly initiation: Outgoing.ConversationInitiationClientToOrchestratorEvent;
  readonly deadline: ConnectDeadline;
  readonly resolve: () => void;
  readonly reject: (error: ProviderError) => void;
}

function frameText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function formatOf(name: string, side: string): AudioFormat {
  const format = audioFormatOf(name);
  if (format !== null) return format;
  throw new ProviderError(
    "provider_connect_failed",
    `ElevenLabs agent ${side} audio is "${name}", which Patchbay cannot convert: set it to ulaw_8000 (best for phone calls) or pcm_16000`,
    false,
  );
}

export class ElevenLabsAgentsSession implements RealtimeSession {
  readonly capabilities = ELEVENLABS_CAPABILITIES;
  readonly #socket: WebSocket;
  readonly #handlers: RealtimeSessionHandlers;
  readonly #turns: AgentTurns;
  readonly #greeting: GreetingHold;
  readonly #agentLines: AgentLines;
  readonly #quiet: ReplyQuiet;
  /** `say` / `requestReply` messages asked for while the agent was speaking: one goes per finished turn. */
  readonly #queuedPrompts: Outgoing.UserMessageClientToOrchestratorEvent[] = [];
  #state: SessionState = "connecting";
  #handshake: Handshake | null = null;
  #inputFormat: AudioFormat = MULAW_8K;
  #outputFormat: AudioFormat = MULAW_8K;
  #conversationId = "";
  /** A socket error seen before the close it causes; becomes the close error's cause. */
  #transportError: Error | null = null;
  #closeTimer: NodeJS.Timeout | null = null;
  /** Audio of a turn reaches the call (live, or held greeting audio on release): its line may now be logged, and the quiet timer restarts. */
  readonly #deliverAudio = (payloadB64: string, itemId: string, eventId: number): void => {
    this.#handlers.onAudio(payloadB64, itemId);
    this.#agentLines.audioDelivered(eventId);
    this.#quiet.heard();
  };
  readonly #isStale = (eventId: number): boolean => this.#turns.isStale(eventId);

  /** Listens from the moment the socket exists so no socket error goes unhandled; `start()` does the handshake. */
  constructor(socket: WebSocket, handlers: RealtimeSessionHandlers, options: { readonly holdGreeting: boolean }) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#turns = new AgentTurns((itemId, status) => this.#turnEnded(itemId, status));
    this.#quiet = new ReplyQuiet(() => this.#turns.finish());
    this.#greeting = new GreetingHold(options.holdGreeting);
    this.#agentLines = new AgentLines((text) => this.#handlers.onTranscript("agent", text, true));
    socket.on("open", () => this.#onOpen());
    socket.on("message", (data) => this.#onMessage(data));
    socket.on("error", (error) => this.#onSocketError(error));
    socket.on("unexpected-response", (_req, res: IncomingMessage) => this.#onRejected(res));
    socket.on("close", (code, reason) => this.#onSocketClose(code, reason.toString()));
  }

  get inputFormat(): AudioFormat {
    return this.#inputFormat;
  }

  get outputFormat(): AudioFormat {
    return this.#outputFormat;
  }

  /** ElevenLabs' id for this conversation (from its metadata), for logs and its dashboard. */
  get conversationId(): string {
    return this.#conversationId;
  }

  /** Sends the initiation once the socket opens; resolves on `conversation_initiation_metadata`. */
  start(initiation: Outgoing.ConversationInitiationClientToOrchestratorEvent, deadline: ConnectDeadline): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => this.#failHandshake(deadline.error());
      const done = (): void => deadline.signal.removeEventListener("abort", onAbort);
      this.#handshake = {
        initiation,
        deadline,
        resolve: () => (done(), resolve()),
        reject: (error) => (done(), reject(error)),
      };
      if (deadline.signal.aborted) onAbort();
      else deadline.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  appendAudio(payloadB64: string): void {
    // Hot path: one string concat, straight to the socket.
    if (this.#state === "live") this.#socket.send(userAudioFrame(payloadB64));
  }

  /** ElevenLabs speaks `first_message` by itself; this releases its audio held until the call was ready for it. */
  startGreeting(): void {
    if (this.#greeting.holding) this.#greeting.release(this.#deliverAudio, this.#isStale);
  }

  /** ElevenLabs detects the interruption from the caller's audio itself; we only stop passing on this reply. */
  interrupt(): void {
    if (this.#state !== "live") return;
    this.#turns.cut();
    this.#agentLines.releaseWhere(this.#isStale);
  }

  sendToolResult(callId: string, output: string): void {
    this.#send(toolResultEvent(callId, output));
  }

  /**
   * ElevenLabs has no "speak this text" command: the verbatim instruction goes as a user message, which
   * the agent's LLM answers. Its wording is then up to the LLM, and the request stays in the conversation.
   */
  say(text: string): void {
    this.#prompt(userMessageEvent(verbatimInstruction(text)));
  }

  /** A user message the agent answers; with no instructions, a neutral nudge to take its next turn. */
  requestReply(instructions: string | null): void {
    this.#prompt(userMessageEvent(instructions ?? CONTINUE_PROMPT));
  }

  addContext(text: string): void {
    this.#send(contextualUpdateEvent(text));
  }

  close(): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    if (this.#state === "connecting") {
      this.#failHandshake(new ProviderError("provider_connect_failed", "ElevenLabs session closed while connecting", false));
      return;
    }
    this.#state = "closing";
    this.#quiet.stop();
    this.#socket.close(1000, "call ended");
    // A server that never answers our close frame must not hold the call open.
    this.#closeTimer = setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS);
    this.#closeTimer.unref();
  }

  /** A user message would cut off the reply in progress, so it waits for that reply to end. */
  #prompt(message: Outgoing.UserMessageClientToOrchestratorEvent): void {
    if (this.#state !== "live") return;
    if (this.#turns.open || this.#queuedPrompts.length > 0) this.#queuedPrompts.push(message);
    else this.#send(message);
  }

  #turnEnded(itemId: string, status: TurnEndStatus): void {
    this.#quiet.stop();
    try {
      this.#handlers.onResponseDone(itemId, status);
    } finally {
      const next = this.#queuedPrompts.shift();
      if (next !== undefined) this.#send(next);
    }
  }

  #send(message: ClientMessage): void {
    if (this.#state === "live") this.#socket.send(JSON.stringify(message));
  }

  #onOpen(): void {
    const handshake = this.#handshake;
    if (this.#state !== "connecting" || handshake === null) return;
    this.#socket.send(JSON.stringify(handshake.initiation));
  }

  #onMessage(data: RawData): void {
    if (this.#state !== "live" && this.#state !== "connecting") return;
    let event: HandledServerEvent | null;
    try {
      event = parseServerEvent(frameText(data));
    } catch (cause) {
      this.#protocolError("ElevenLabs sent a frame that is not JSON", cause);
      return;
    }
    if (event === null) return;
    try {
      if (this.#state === "connecting") this.#onHandshakeEvent(event);
      else this.#dispatch(event);
    } catch (cause) {
      // A throwing handler must not escape into the socket's emitter and take the process down.
      this.#protocolError(`handling ElevenLabs ${event.type} failed`, cause);
    }
  }

  #onHandshakeEvent(event: HandledServerEvent): void {
    if (event.type === "conversation_initiation_metadata") {
      this.#onMetadata(event);
      return;
    }
    if (event.type === "error") {
      this.#failHandshake(new ProviderError("provider_connect_failed", errorEventText(event.error_event), false, { cause: event.error_event }));
      return;
    }
    // Pings may come early; anything else before the metadata is out of order and ignored, as the official clients do.
    if (event.type === "ping") this.#socket.send(JSON.stringify(pongEvent(event.ping_event.event_id)));
  }

  #onMetadata(event: ConversationMetadata): void {
    const handshake = this.#handshake;
    if (handshake === null) return;
    const meta = event.conversation_initiation_metadata_event;
    try {
      this.#inputFormat = formatOf(meta.user_input_audio_format, "input");
      this.#outputFormat = formatOf(meta.agent_output_audio_format, "output");
    } catch (error) {
      this.#failHandshake(error instanceof ProviderError ? error : new ProviderError("provider_protocol_error", String(error), false));
      return;
    }
    this.#conversationId = meta.conversation_id;
    this.#state = "live";
    this.#handshake = null;
    handshake.resolve();
  }

  #failHandshake(error: ProviderError): void {
    const handshake = this.#handshake;
    this.#handshake = null;
    this.#state = "closed";
    this.#socket.terminate();
    handshake?.reject(error);
  }

  #dispatch(event: HandledServerEvent): void {
    switch (event.type) {
      case "audio":
        this.#onAudio(event);
        break;
      case "interruption":
        // The caller barged in (the call clears Twilio); the interrupted reply's audio is stale from here on.
        try {
          this.#handlers.onSpeechStarted();
        } finally {
          this.#turns.interrupted(event.interruption_event.event_id);
          this.#agentLines.releaseWhere(this.#isStale);
        }
        break;
      case "agent_response":
        this.#agentLines.add(event.agent_response_event.event_id, event.agent_response_event.agent_response);
        break;
      case "agent_response_correction":
        // What the caller actually heard of an interrupted reply.
        this.#handlers.onTranscript("agent", event.agent_response_correction_event.corrected_agent_response, true);
        break;
      case "user_transcript":
        this.#turns.finish();
        this.#agentLines.flush();
        this.#handlers.onTranscript("caller", event.user_transcription_event.user_transcript, true);
        break;
      case "ping":
        this.#send(pongEvent(event.ping_event.event_id));
        break;
      case "client_tool_call":
        this.#onToolCall(event);
        break;
      case "error":
        this.#handlers.onError(new ProviderError("provider_error_event", errorEventText(event.error_event), true, { cause: event.error_event }));
        break;
      case "conversation_initiation_metadata":
      case "vad_score":
        break;
    }
  }

  #onAudio(event: Audio): void {
    const { audio_base_64: payload, event_id: eventId } = event.audio_event;
    const itemId = this.#turns.accept(eventId);
    if (itemId === null) return;
    if (this.#greeting.holding) {
      this.#greeting.push(payload, itemId, eventId);
      return;
    }
    this.#deliverAudio(payload, itemId, eventId);
  }


  #onToolCall(event: ClientToolCallMessage): void {
    const call = event.client_tool_call;
    this.#handlers.onToolCall(call.tool_call_id, call.tool_name, JSON.stringify(call.parameters ?? {}));
  }

  #onRejected(res: IncomingMessage): void {
    res.resume();
    const status = res.statusCode ?? 0;
    const auth = status === 401 || status === 403;
    this.#failHandshake(
      new ProviderError(
        auth ? "provider_auth_failed" : "provider_connect_failed",
        `ElevenLabs refused the conversation socket (HTTP ${status})${auth ? ": the signed URL was not accepted" : ""}`,
        false,
      ),
    );
  }

  #onSocketError(error: Error): void {
    if (this.#state === "connecting") {
      this.#failHandshake(new ProviderError("provider_connect_failed", `ElevenLabs connect failed: ${error.message}`, false, { cause: error }));
      return;
    }
    // The close that follows reports it, with this as the cause.
    this.#transportError = error;
  }

  #onSocketClose(code: number, reason: string): void {
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#quiet.stop();
    const previous = this.#state;
    this.#state = "closed";
    if (previous === "connecting") {
      this.#failHandshake(new ProviderError("provider_connect_failed", `ElevenLabs closed the socket while connecting (code ${code}${reason ? `: ${reason}` : ""})`, false));
      return;
    }
    // Before going live the connect promise reports the failure; the caller has no session yet.
    if (previous === "closed") return;
    if (previous === "live") {
      const detail = reason === "" ? `code ${code}` : `code ${code}: ${reason}`;
      const cause = this.#transportError ?? undefined;
      this.#report(new ProviderError("provider_socket_closed", `ElevenLabs socket closed (${detail})`, false, { cause }));
    }
    try {
      this.#agentLines.flush();
      this.#handlers.onClosed({ clean: previous === "closing", code, reason });
    } catch {
      // Deliberately dropped: the session is over and a throw here would escape into the socket's emitter.
    }
  }

  #protocolError(message: string, cause: unknown): void {
    if (this.#state === "connecting") {
      this.#failHandshake(new ProviderError("provider_protocol_error", message, false, { cause }));
      return;
    }
    this.#report(new ProviderError("provider_protocol_error", message, true, { cause }));
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

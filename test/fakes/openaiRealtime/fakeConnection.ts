/**
 * One client socket on the fake OpenAI Realtime server: GA client events in, GA server events out,
 * with a crude energy VAD driving caller turns and automatic replies.
 */
import type { RawData, WebSocket } from "ws";
import type {
  ConversationItem,
  ConversationItemTruncateEvent,
  RealtimeClientEvent,
  RealtimeError,
  ResponseCreateEvent,
  SessionUpdateEvent,
} from "openai/resources/realtime/realtime";
import type { XaiSessionUpdateEvent } from "../../../providers/xai/wire.js";
import { EnergyVad, type EnergyVadOptions } from "./energyVad.js";
import { FakeResponse, type FakeReply, type ResponseWire } from "./fakeResponse.js";
import { verbatimText } from "../../../providers/verbatim.js";
import type { ChunkPacing } from "../pacing.js";
import { spokenReply } from "../spokenReply.js";
import { fakeSessionConfig, type FakeDialect, type FakeServerEvent, type FakeSessionConfig } from "./fakeSession.js";

/** Every client event the fake understands: the SDK's GA events, plus xAI's hybrid session.update. */
export type FakeClientEvent = RealtimeClientEvent | XaiSessionUpdateEvent;

/** What every connection shares with the server: recordings, scripts and settings. */
export interface FakeServerState {
  readonly dialect: FakeDialect;
  readonly vad: EnergyVadOptions;
  readonly pacing: ChunkPacing;
  readonly speechStartedDelayMs: number;
  record(event: FakeClientEvent): void;
  recordAudio(mulaw: Buffer): void;
  recordTruncate(event: ConversationItemTruncateEvent): void;
  /** A reply the client asked for with `response.create`: the instructions that guided it, or null. */
  recordReplyRequest(instructions: string | null): void;
  nextReply(): FakeReply;
  nextCallerText(): string;
}

const CLIENT_EVENT_TYPES: ReadonlySet<string> = new Set<RealtimeClientEvent["type"]>([
  "conversation.item.create", "conversation.item.delete", "conversation.item.retrieve", "conversation.item.truncate",
  "input_audio_buffer.append", "input_audio_buffer.clear", "output_audio_buffer.clear", "input_audio_buffer.commit",
  "response.cancel", "response.create", "session.update",
]);

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function parseClientEvent(data: RawData): FakeClientEvent | null {
  try {
    const value: unknown = JSON.parse(rawText(data));
    if (typeof value !== "object" || value === null || !("type" in value)) return null;
    return typeof value.type === "string" && CLIENT_EVENT_TYPES.has(value.type) ? (value as FakeClientEvent) : null;
  } catch {
    return null;
  }
}

export class FakeConnection {
  readonly #ws: WebSocket;
  readonly #state: FakeServerState;
  readonly #vad: EnergyVad;
  readonly #session: FakeSessionConfig;
  #active: FakeResponse | null = null;
  #nextId = 0;
  /** μ-law bytes sent per assistant item: truncation past this is an error, as on the real API. */
  readonly #itemAudioBytes = new Map<string, number>();
  /** User text items added since the last reply: they guide the next one (xAI's way to prompt a reply). */
  readonly #userTexts: string[] = [];
  #callerItemId = "";
  #callerStartMs = 0;
  #speechStartTimer: NodeJS.Timeout | null = null;
  readonly #wire: ResponseWire;

  constructor(ws: WebSocket, state: FakeServerState, model: string) {
    this.#ws = ws;
    this.#state = state;
    this.#session = fakeSessionConfig(state.dialect, model, this.#id("conv"));
    this.#vad = new EnergyVad(state.vad, {
      speechStarted: (ms) => this.#speechStarted(ms),
      speechStopped: (ms) => this.#speechStopped(ms),
    });
    this.#wire = {
      send: (event) => this.send(event),
      nextId: (prefix) => this.#id(prefix),
      audioSent: (itemId, bytes) => this.#itemAudioBytes.set(itemId, (this.#itemAudioBytes.get(itemId) ?? 0) + bytes),
      finished: (response) => {
        if (this.#active === response) this.#active = null;
      },
    };
    ws.on("message", (data) => this.#onMessage(data));
    ws.on("close", () => this.#shutdown());
    this.send(this.#session.opening(this.#id("event")));
  }

  send(event: FakeServerEvent): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(event));
  }

  /** `clientEventId`: the client event the error answers, as the API names it. */
  sendError(message: string, code: string | null = null, type = "invalid_request_error", clientEventId: string | null = null): void {
    const error: RealtimeError = { type, code, message, param: null, event_id: clientEventId };
    this.send({ type: "error", event_id: this.#id("event"), error });
  }

  /** A model turn that only calls a tool; returns its `call_id`. */
  requestToolCall(name: string, args: string): string {
    this.#active?.cancel("client_cancelled");
    const response = new FakeResponse(this.#wire);
    this.#active = response;
    return response.callTool(name, args);
  }

  terminate(): void {
    this.#shutdown();
    this.#ws.terminate();
  }

  #onMessage(data: RawData): void {
    const event = parseClientEvent(data);
    if (event === null) {
      this.sendError("The server failed to parse the client event or it has an unknown type.", "invalid_json");
      return;
    }
    this.#state.record(event);
    switch (event.type) {
      case "session.update":
        this.#sessionUpdate(event);
        break;
      case "input_audio_buffer.append":
        this.#append(Buffer.from(event.audio, "base64"));
        break;
      case "response.create":
        if (this.#active !== null) {
          this.sendError(`Conversation already has an active response in progress: ${this.#active.id}`, "conversation_already_has_active_response");
        } else this.#requestedReply(event);
        break;
      case "response.cancel":
        if (this.#state.dialect === "xai") this.#unknownEvent(event.type);
        else if (this.#active === null) this.sendError("Cancellation failed: no active response found", "response_cancel_not_active");
        else this.#active.cancel("client_cancelled");
        break;
      case "conversation.item.truncate":
        if (this.#state.dialect === "xai") this.#unknownEvent(event.type);
        else this.#truncate(event);
        break;
      case "conversation.item.create":
        this.#noteUserText(event.item);
        this.#itemAdded({ ...event.item, id: event.item.id ?? this.#id("item") });
        break;
      case "input_audio_buffer.clear":
        this.send({ type: "input_audio_buffer.cleared", event_id: this.#id("event") });
        break;
      case "input_audio_buffer.commit":
        this.send({ type: "input_audio_buffer.committed", event_id: this.#id("event"), item_id: this.#id("item"), previous_item_id: null });
        break;
      case "conversation.item.delete":
        this.send({ type: "conversation.item.deleted", event_id: this.#id("event"), item_id: event.item_id });
        break;
      case "conversation.item.retrieve":
      case "output_audio_buffer.clear":
        this.sendError(`${event.type} is not supported by the fake server`, "unsupported_event");
        break;
    }
  }

  #sessionUpdate(event: SessionUpdateEvent | XaiSessionUpdateEvent): void {
    const result = this.#session.update(event, this.#id("event"));
    if ("error" in result) this.sendError(result.error, "invalid_value", "invalid_request_error", event.event_id ?? null);
    else this.send(result.ack);
  }

  /** xAI documents neither truncate nor cancel: the fake answers them as unknown, so tests can prove they never go out. */
  #unknownEvent(type: string): void {
    this.sendError(`Unknown event type '${type}'.`, "unknown_event");
  }

  #append(mulaw: Buffer): void {
    this.#state.recordAudio(mulaw);
    if (this.#session.turnDetection().enabled) this.#vad.push(mulaw);
  }

  /**
   * `response.create`: guided by its own `instructions` (OpenAI) or by the user text added since the last
   * reply (xAI's documented way). A verbatim request is answered with exactly the quoted words.
   */
  #requestedReply(event: ResponseCreateEvent): void {
    const userText = this.#userTexts.length > 0 ? this.#userTexts.join("\n") : null;
    const instructions = event.response?.instructions ?? userText;
    this.#state.recordReplyRequest(instructions);
    const verbatim = verbatimText(instructions);
    this.#reply(verbatim === null ? this.#state.nextReply() : spokenReply(verbatim));
  }

  #reply(script: FakeReply = this.#state.nextReply()): void {
    this.#userTexts.length = 0;
    const response = new FakeResponse(this.#wire);
    this.#active = response;
    response.speak(script, this.#state.pacing);
  }

  #noteUserText(item: ConversationItem): void {
    if (item.type !== "message" || item.role !== "user") return;
    for (const part of item.content) if (part.type === "input_text" && part.text !== undefined) this.#userTexts.push(part.text);
  }

  #truncate(event: ConversationItemTruncateEvent): void {
    this.#state.recordTruncate(event);
    const sentBytes = this.#itemAudioBytes.get(event.item_id);
    if (sentBytes === undefined || event.content_index !== 0) {
      this.sendError(`Item with item_id '${event.item_id}' has no audio content at index ${event.content_index}.`, "invalid_value");
      return;
    }
    const sentMs = Math.floor(sentBytes / 8);
    if (event.audio_end_ms > sentMs) {
      this.sendError(`Audio content of ${sentMs}ms is already shorter than ${event.audio_end_ms}ms`, "invalid_value");
      return;
    }
    const { item_id, content_index, audio_end_ms } = event;
    this.send({ type: "conversation.item.truncated", event_id: this.#id("event"), item_id, content_index, audio_end_ms });
  }

  #itemAdded(item: ConversationItem): void {
    this.send({ type: "conversation.item.added", event_id: this.#id("event"), item, previous_item_id: null });
    this.send({ type: "conversation.item.done", event_id: this.#id("event"), item, previous_item_id: null });
  }

  #speechStarted(audioStartMs: number): void {
    this.#callerItemId = this.#id("item");
    this.#callerStartMs = audioStartMs;
    const delay = this.#state.speechStartedDelayMs;
    if (delay <= 0) {
      this.#emitSpeechStarted(audioStartMs);
      return;
    }
    this.#speechStartTimer = setTimeout(() => this.#emitSpeechStarted(audioStartMs), delay);
  }

  #emitSpeechStarted(audioStartMs: number): void {
    this.#speechStartTimer = null;
    this.send({ type: "input_audio_buffer.speech_started", event_id: this.#id("event"), audio_start_ms: audioStartMs, item_id: this.#callerItemId });
    if (this.#session.turnDetection().interruptResponse) this.#active?.cancel("turn_detected");
  }

  #speechStopped(audioEndMs: number): void {
    if (this.#speechStartTimer !== null) {
      // Never let the stop overtake a delayed start.
      clearTimeout(this.#speechStartTimer);
      this.#emitSpeechStarted(this.#callerStartMs);
    }
    const itemId = this.#callerItemId;
    this.send({ type: "input_audio_buffer.speech_stopped", event_id: this.#id("event"), audio_end_ms: audioEndMs, item_id: itemId });
    this.send({ type: "input_audio_buffer.committed", event_id: this.#id("event"), item_id: itemId, previous_item_id: null });
    const transcript = this.#state.nextCallerText();
    this.send({
      type: "conversation.item.input_audio_transcription.completed", event_id: this.#id("event"),
      item_id: itemId, content_index: 0, transcript, usage: { type: "duration", seconds: audioEndMs / 1000 },
    });
    if (this.#session.turnDetection().createResponse && this.#active === null) this.#reply();
  }

  #id(prefix: string): string {
    this.#nextId += 1;
    return `${prefix}_fake${this.#nextId.toString().padStart(6, "0")}`;
  }

  #shutdown(): void {
    if (this.#speechStartTimer !== null) clearTimeout(this.#speechStartTimer);
    this.#speechStartTimer = null;
    this.#active?.abandon();
    this.#active = null;
  }
}

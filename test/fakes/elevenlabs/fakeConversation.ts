/**
 * One conversation socket on the fake ElevenLabs server: initiation first, then metadata, the first
 * message, periodic pings, an energy VAD on the caller's audio driving interruptions, transcripts and
 * replies, and client tool calls on request.
 */
import { performance } from "node:perf_hooks";
import type { RawData, WebSocket } from "ws";
import type {
  AgentResponse,
  AgentResponseCorrection,
  Audio,
  ClientToolCallMessage,
  ClientToolResult,
  ContextualUpdate,
  ConversationInitiation,
  ConversationMetadata,
  ErrorMessage,
  Interruption,
  Ping,
  Pong,
  UserActivity,
  UserAudio,
  UserMessage,
  UserTranscript,
  VadScore,
} from "@elevenlabs/types";
import { EnergyVad, type EnergyVadOptions } from "../openaiRealtime/energyVad.js";
import { FakeReply, type FakeAgentReply, type ReplyWire } from "./fakeReply.js";
import type { ChunkPacing } from "../pacing.js";
import { verbatimText } from "../../../providers/verbatim.js";
import { spokenReply } from "../spokenReply.js";
import { CallerAudioDecoder, type FakeAudioFormat } from "./wireAudio.js";

export type FakeServerMessage =
  | ConversationMetadata | Audio | Interruption | AgentResponse | AgentResponseCorrection | UserTranscript
  | Ping | ClientToolCallMessage | VadScore | ErrorMessage;

/** Every client message but audio chunks (those are kept as audio, not as messages). */
export type FakeClientMessage = ConversationInitiation | Pong | ClientToolResult | UserActivity | ContextualUpdate | UserMessage;

/** What every conversation shares with the server: settings, scripts and recordings. */
export interface FakeConversationContext {
  readonly inputFormat: FakeAudioFormat;
  readonly outputFormat: FakeAudioFormat;
  readonly pacing: ChunkPacing;
  readonly vad: EnergyVadOptions;
  readonly pingIntervalMs: number;
  readonly sendMetadata: boolean;
  readonly sendCorrections: boolean;
  record(message: FakeClientMessage): void;
  recordAudio(mulaw: Buffer): void;
  nextReply(): FakeAgentReply;
  nextCallerText(): string;
}

const CLIENT_TYPES: ReadonlySet<string> = new Set<FakeClientMessage["type"]>([
  "conversation_initiation_client_data", "pong", "client_tool_result", "user_activity", "contextual_update", "user_message",
]);

type Parsed = { kind: "audio"; message: UserAudio } | { kind: "message"; message: FakeClientMessage } | { kind: "invalid" };

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function parseClientMessage(data: RawData): Parsed {
  try {
    const value: unknown = JSON.parse(rawText(data));
    if (typeof value !== "object" || value === null) return { kind: "invalid" };
    if ("user_audio_chunk" in value && typeof value.user_audio_chunk === "string") return { kind: "audio", message: value as UserAudio };
    if ("type" in value && typeof value.type === "string" && CLIENT_TYPES.has(value.type)) return { kind: "message", message: value as FakeClientMessage };
    return { kind: "invalid" };
  } catch {
    return { kind: "invalid" };
  }
}

export class FakeConversation {
  readonly conversationId: string;
  readonly #ws: WebSocket;
  readonly #context: FakeConversationContext;
  readonly #vad: EnergyVad;
  readonly #decoder: CallerAudioDecoder;
  readonly #replyWire: ReplyWire;
  readonly #pingSentAt = new Map<number, number>();
  #initiation: ConversationInitiation | null = null;
  #reply: FakeReply | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #lastPingMs: number | null = null;
  #eventId = 0;
  #toolCalls = 0;

  constructor(ws: WebSocket, context: FakeConversationContext, conversationId: string) {
    this.#ws = ws;
    this.#context = context;
    this.conversationId = conversationId;
    this.#decoder = new CallerAudioDecoder(context.inputFormat);
    this.#vad = new EnergyVad(context.vad, { speechStarted: () => this.#callerStarted(), speechStopped: () => this.#callerStopped() });
    this.#replyWire = {
      send: (message) => this.send(message),
      finished: (reply) => {
        if (this.#reply === reply) this.#reply = null;
      },
    };
    ws.on("message", (data) => this.#onMessage(data));
    ws.on("close", () => this.#shutdown());
    ws.on("error", () => this.#shutdown());
  }

  get initiation(): ConversationInitiation | null {
    return this.#initiation;
  }

  send(message: FakeServerMessage): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(message));
  }

  sendError(message: string): void {
    this.send({ type: "error", error_event: { code: 1011, error_type: "unknown", message } });
  }

  /** The agent decides to call a client tool; returns its `tool_call_id`. */
  requestToolCall(name: string, parameters: Record<string, unknown>): string {
    this.#toolCalls += 1;
    const id = `toolu_${this.conversationId}_${this.#toolCalls}`;
    this.send({ type: "client_tool_call", client_tool_call: { tool_name: name, tool_call_id: id, parameters, event_id: this.#nextEventId() } });
    return id;
  }

  terminate(): void {
    this.#shutdown();
    this.#ws.terminate();
  }

  #onMessage(data: RawData): void {
    const parsed = parseClientMessage(data);
    if (parsed.kind === "invalid") {
      this.send({ type: "error", error_event: { code: 1008, error_type: "invalid_message", message: "Invalid message received" } });
      return;
    }
    if (this.#initiation === null) {
      this.#first(parsed);
      return;
    }
    if (parsed.kind === "audio") {
      this.#callerAudio(Buffer.from(parsed.message.user_audio_chunk, "base64"));
      return;
    }
    this.#context.record(parsed.message);
    this.#onClientMessage(parsed.message);
  }

  /** The protocol wants the initiation first; a client that skips it is told so and cut off. */
  #first(parsed: Exclude<Parsed, { kind: "invalid" }>): void {
    if (parsed.kind === "audio" || parsed.message.type !== "conversation_initiation_client_data") {
      this.#ws.close(1008, "expected conversation_initiation_client_data first");
      return;
    }
    this.#context.record(parsed.message);
    this.#initiation = parsed.message;
    if (!this.#context.sendMetadata) return;
    this.send({
      type: "conversation_initiation_metadata",
      conversation_initiation_metadata_event: {
        conversation_id: this.conversationId,
        agent_output_audio_format: this.#context.outputFormat,
        user_input_audio_format: this.#context.inputFormat,
      },
    });
    this.#pingTimer = setInterval(() => this.#ping(), this.#context.pingIntervalMs);
    // An empty first message means "wait for the caller"; absent means the agent's own first message.
    if (parsed.message.conversation_config_override?.agent?.first_message !== "") this.#speak();
  }

  #onClientMessage(message: FakeClientMessage): void {
    switch (message.type) {
      case "pong": {
        const sentAt = this.#pingSentAt.get(message.event_id);
        this.#pingSentAt.delete(message.event_id);
        if (sentAt !== undefined) this.#lastPingMs = Math.round(performance.now() - sentAt);
        break;
      }
      case "client_tool_result":
        // The agent goes on talking with the result in hand.
        if (this.#reply === null) this.#speak();
        break;
      case "conversation_initiation_client_data":
        this.sendError("conversation_initiation_client_data may only be sent once");
        break;
      case "user_message":
        this.#userMessage(message.text ?? "");
        break;
      case "user_activity":
      case "contextual_update":
        break;
    }
  }

  /**
   * A typed user turn: the agent stops any reply in progress (as when the caller talks over it) and
   * answers; a verbatim request is answered with exactly the quoted words.
   */
  #userMessage(text: string): void {
    const reply = this.#reply;
    if (reply !== null) {
      reply.stop();
      this.send({ type: "interruption", interruption_event: { event_id: this.#nextEventId() } });
    }
    const verbatim = verbatimText(text);
    this.#speak(verbatim === null ? this.#context.nextReply() : spokenReply(verbatim));
  }


  #callerAudio(chunk: Buffer): void {
    const mulaw = this.#decoder.toMulaw(chunk);
    this.#context.recordAudio(mulaw);
    this.#vad.push(mulaw);
  }

  #callerStarted(): void {
    this.send({ type: "vad_score", vad_score_event: { vad_score: 0.95 } });
    const reply = this.#reply;
    if (reply === null) return;
    reply.stop();
    this.send({ type: "interruption", interruption_event: { event_id: this.#nextEventId() } });
    if (!this.#context.sendCorrections) return;
    this.send({
      type: "agent_response_correction",
      agent_response_correction_event: { original_agent_response: reply.text, corrected_agent_response: reply.spokenText(), event_id: reply.eventId },
    });
  }

  #callerStopped(): void {
    const transcript = this.#context.nextCallerText();
    this.send({ type: "user_transcript", user_transcription_event: { user_transcript: transcript, event_id: this.#nextEventId() } });
    this.#speak();
  }

  #speak(script: FakeAgentReply = this.#context.nextReply()): void {
    this.#reply?.stop();
    const reply = new FakeReply(this.#replyWire, script, this.#nextEventId(), this.#context.pacing, this.#context.outputFormat);
    this.#reply = reply;
    reply.speak();
  }

  #ping(): void {
    const eventId = this.#nextEventId();
    this.#pingSentAt.set(eventId, performance.now());
    this.send({ type: "ping", ping_event: { event_id: eventId, ping_ms: this.#lastPingMs } });
  }

  #nextEventId(): number {
    this.#eventId += 1;
    return this.#eventId;
  }

  #shutdown(): void {
    if (this.#pingTimer !== null) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    this.#reply?.stop();
    this.#reply = null;
  }
}

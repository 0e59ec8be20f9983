import type { AudioFormat } from "../media/audioFormat.js";
import type { ProviderAgentFields } from "./agentFields.js";

/** What a provider can do, as data: CallSession branches on these flags, never on a provider's name. */
export interface ProviderCapabilities {
  /** Accepts `interrupt(itemId, playedMs)` and cuts the model's memory of the reply at that point. */
  readonly canTruncate: boolean;
  /** Detects the caller's speech itself and emits `onSpeechStarted`. */
  readonly hasServerVad: boolean;
  /** Takes turns from our local VAD: CallSession calls `callerSpeechEnded()` when the caller stops. */
  readonly needsLocalTurns: boolean;
  /** Emits caller transcripts (`onTranscript("caller", …)`). */
  readonly transcribesCaller: boolean;
}

/** The agent settings a provider session needs. Built by sessions/ from the stored agent. */
export interface ProviderSessionConfig {
  /** Our call-log id, for logs and provider metadata. */
  readonly callId: string;
  readonly instructions: string;
  /** Said by the agent when the call connects and `aiSpeaksFirst` is true. */
  readonly greeting: string | null;
  readonly aiSpeaksFirst: boolean;
  /** The agent's voice for this provider, already resolved from its fields (`voice`, `openai_voice`, …). */
  readonly voice: string;
  readonly temperature: number;
  readonly vad: {
    readonly threshold: number;
    readonly silenceDurationMs: number;
    readonly prefixPaddingMs: number;
  };
  readonly tools: readonly ToolDefinition[];
  /** Every provider-specific agent field, defaults filled in; an adapter reads only its own prefix. */
  readonly agent: ProviderAgentFields;
  /** The fields of `agent` the agent set itself; the rest are defaults a provider may leave unsent. */
  readonly agentFieldsSet: ReadonlySet<keyof ProviderAgentFields>;
  /** Facts about this call a provider may template into prompts (ElevenLabs dynamic variables). */
  readonly variables: Readonly<Record<string, string>>;
}

export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: Record<string, unknown>;
}

export type TranscriptRole = "agent" | "caller";

/** Why a provider session stopped. `clean` means we asked for it. */
export interface ProviderCloseInfo {
  readonly clean: boolean;
  readonly code?: number;
  readonly reason: string;
}

export type ProviderErrorCode =
  | "provider_connect_failed"
  | "provider_connect_timeout"
  | "provider_auth_failed"
  | "provider_protocol_error"
  | "provider_error_event"
  | "provider_socket_closed";

/** A provider failure, with a stable code and whether the call can go on. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    /** True when the session is still usable (e.g. a rejected client event); false ends the call. */
    readonly recoverable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Callbacks a session calls. A plain object chosen once at connect: no emitter lookups per audio chunk.
 * `onAudio` carries base64 audio in the session's `outputFormat`; `itemId` names the reply it belongs to.
 */
export interface RealtimeSessionHandlers {
  onAudio(payloadB64: string, itemId: string): void;
  /** The provider heard the caller start speaking (a barge-in trigger when the agent is talking). */
  onSpeechStarted(): void;
  onTranscript(role: TranscriptRole, text: string, final: boolean): void;
  onToolCall(callId: string, name: string, args: string): void;
  /** A reply finished (completed, cancelled or failed). */
  onResponseDone(itemId: string | null, status: string): void;
  onError(error: ProviderError): void;
  /** The provider's connection was replaced mid-call (e.g. Gemini goAway / session resumption); the call goes on. */
  onResumed(reason: string): void;
  /** Called once when the session will emit nothing more. */
  onClosed(info: ProviderCloseInfo): void;
}

export interface RealtimeSession {
  readonly capabilities: ProviderCapabilities;
  readonly inputFormat: AudioFormat;
  readonly outputFormat: AudioFormat;
  /** Base64 audio in `inputFormat`. Hot path: must not await or log. */
  appendAudio(payloadB64: string): void;
  /** Start the agent's opening turn (speaks `greeting`, or lets the model open). */
  startGreeting(): void;
  /**
   * The caller barged in: stop the current reply. `playedMs` is how much of `itemId` the caller heard;
   * providers that can truncate cut the model's memory there.
   */
  interrupt(itemId: string | null, playedMs: number): void;
  sendToolResult(callId: string, output: string): void;
  /** Tell the model something that happened on the call (e.g. keypad digits) without asking it to answer now. */
  addContext(text: string): void;
  /**
   * Speak `text` word for word as the agent's next reply (a closing line, a voicemail message). Its audio
   * arrives through `onAudio` like any reply's and `onResponseDone` marks its end; it stays in the model's
   * memory as something the agent said. Call only when no reply is in progress (interrupt first).
   */
  say(text: string): void;
  /**
   * Ask the model to reply now, guided by `instructions` for this one reply (e.g. "You reached voicemail:
   * leave a short message"), or by the conversation alone when null.
   */
  requestReply(instructions: string | null): void;
  /** The local VAD heard the caller stop (only called when `capabilities.needsLocalTurns`). */
  callerSpeechEnded?(): void;
  /** Idempotent. `onClosed` follows with `clean: true`. */
  close(): void;
}

export interface RealtimeProvider {
  /** The agent's `voice_provider` value this adapter serves. */
  readonly name: string;
  connect(
    config: ProviderSessionConfig,
    handlers: RealtimeSessionHandlers,
    signal: AbortSignal,
  ): Promise<RealtimeSession>;
}

/**
 * What every provider's loopback fake offers the conformance suite. A new provider joins the suite by
 * writing its adapter, a fake that implements this, and one line in `providers.ts` beside this file.
 */

/** One agent reply the fake will speak: μ-law 8 kHz audio (each fake converts to its wire format) and its text. */
export interface ConformanceReply {
  readonly text: string;
  readonly audio: Buffer;
}

export interface ConformanceFakeOptions {
  /** Replies in turn: the first answers the greeting, then one per caller turn; cycles when exhausted. */
  readonly replies: readonly ConformanceReply[];
  /** What the fake "transcribes" for each caller turn, in turn; cycles. */
  readonly callerTexts: readonly string[];
}

export interface ConformanceFake {
  /** The agent's `voice_provider` value. */
  readonly provider: string;
  /** Environment for the server under test: this provider's key and base URL pointing at the fake. */
  readonly env: Readonly<Record<string, string>>;
  /** Agent fields the provider needs beyond the suite's defaults (e.g. `elevenlabs_agent_id`). */
  readonly agent: Readonly<Record<string, unknown>>;
  /**
   * Whether the fake has a socket to drop and an error event to send; false only for in-process
   * providers (scripted), whose suite rows then rehearse those failures through their script instead.
   */
  readonly network: boolean;
  /** Whether a dropped socket is resumed (Gemini session resumption) rather than ending the call. */
  readonly resumesAfterDrop: boolean;
  /** Caller audio the provider received this far, converted back to μ-law 8 kHz, in order. */
  inputAudioMulaw(): Buffer;
  /** Open provider connections right now. */
  connectionCount(): number;
  /** Cut every provider socket without a close frame, like a network failure. */
  dropConnection(): void;
  /** Send the provider's error event with this message on the newest connection; the session stays up. */
  sendError(message: string): void;
  /** The model calls a tool on the newest connection; returns the provider's call id. */
  requestToolCall(name: string, args: Record<string, unknown>): string;
  /**
   * Every reply the service was asked for, in order, with the text that steered it (instructions, a
   * verbatim request, the greeting's ask), or null for a bare request; a service that only takes text
   * turns (ElevenLabs) records that text.
   */
  replyRequests(): readonly (string | null)[];
  /** Resolves with the output our server sent back for that call id. */
  waitForToolResult(callId: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export type StartConformanceFake = (options: ConformanceFakeOptions) => Promise<ConformanceFake>;

/** One OpenAI Realtime conversation: the shared GA session plus OpenAI's configuration and truncating barge-in. */
import type { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { RealtimeClientEvent, RealtimeErrorEvent, ResponseAudioDeltaEvent } from "openai/resources/realtime/realtime";
import { mulawBase64Ms } from "../../media/audioFormat.js";
import { GaRealtimeSession } from "../openaiCompatible/session.js";
import type { ProviderCapabilities, ProviderSessionConfig, RealtimeSessionHandlers } from "../types.js";
import {
  CANCEL_NOT_ACTIVE_CODE,
  RESPONSE_CANCEL,
  greetingResponseEvent,
  guidedInstructions,
  instructedResponseEvent,
  sessionUpdateEvent,
  truncateEvent,
} from "./wire.js";

export const OPENAI_CAPABILITIES: ProviderCapabilities = Object.freeze({
  canTruncate: true,
  hasServerVad: true,
  needsLocalTurns: false,
  transcribesCaller: true,
});

export class OpenAIRealtimeSession extends GaRealtimeSession {
  readonly capabilities = OPENAI_CAPABILITIES;
  /** The assistant item whose audio is arriving, and how many ms of it we received (caps truncation). */
  #audioItemId: string | null = null;
  #audioItemMs = 0;

  constructor(rt: OpenAIRealtimeWS, config: ProviderSessionConfig, handlers: RealtimeSessionHandlers) {
    super("OpenAI", rt, config, handlers);
  }

  interrupt(itemId: string | null, playedMs: number): void {
    if (!this.live) return;
    if (this.responseInFlight) {
      this.sendEvent(RESPONSE_CANCEL);
      this.forgetResponseInFlight();
    }
    if (itemId !== null) this.sendEvent(truncateEvent(itemId, this.#truncationPoint(itemId, playedMs)));
  }

  protected configure(): void {
    // The SDK's request type lags the API on `noise_reduction: null`, so this one goes out as our own JSON.
    this.sendJson(sessionUpdateEvent(this.config));
  }

  protected greetingEvent(): RealtimeClientEvent {
    return greetingResponseEvent(this.config.greeting);
  }

  /**
   * `response.instructions` replaces the session's prompt for that one reply: a guided reply keeps the
   * agent's prompt in front of its one-off instructions; a verbatim line needs nothing else.
   */
  protected replyEvents(instructions: string, kind: "verbatim" | "guided"): readonly RealtimeClientEvent[] {
    const text = kind === "verbatim" ? instructions : guidedInstructions(this.config.instructions, instructions);
    return [instructedResponseEvent(text)];
  }

  protected override acceptAudio(event: ResponseAudioDeltaEvent): boolean {
    if (event.item_id !== this.#audioItemId) {
      this.#audioItemId = event.item_id;
      this.#audioItemMs = 0;
    }
    this.#audioItemMs += mulawBase64Ms(event.delta);
    return true;
  }

  protected override ignoresError(event: RealtimeErrorEvent): boolean {
    return event.error.code === CANCEL_NOT_ACTIVE_CODE;
  }

  /** The API rejects a truncation past the audio it sent, so never ask for more than we received. */
  #truncationPoint(itemId: string, playedMs: number): number {
    const played = Math.max(0, Math.floor(playedMs));
    return itemId === this.#audioItemId ? Math.min(played, Math.floor(this.#audioItemMs)) : played;
  }
}

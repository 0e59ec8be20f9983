/**
 * One xAI Grok voice conversation: the shared GA session plus xAI's hybrid configuration. xAI documents
 * no truncate and no response.cancel, so barge-in cannot stop the model: we drop the rest of the
 * interrupted reply's audio here, and the caller's Twilio buffer is cleared by the call.
 */
import type { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { RealtimeClientEvent } from "openai/resources/realtime/realtime";
import { GaRealtimeSession } from "../openaiCompatible/session.js";
import type { ProviderCapabilities, ProviderSessionConfig, RealtimeSessionHandlers } from "../types.js";
import { RESPONSE_CREATE, contextItemEvent, xaiSessionUpdateEvent } from "./wire.js";

export const XAI_CAPABILITIES: ProviderCapabilities = Object.freeze({
  canTruncate: false,
  hasServerVad: true,
  needsLocalTurns: false,
  transcribesCaller: true,
});

export class XaiRealtimeSession extends GaRealtimeSession {
  readonly capabilities = XAI_CAPABILITIES;
  /** The caller barged in over the reply that is still streaming: its remaining audio is stale. */
  #droppingAudio = false;
  /** Barge-in came before the reply we asked for started: that reply is stale when it does. */
  #dropNextRequested = false;

  constructor(rt: OpenAIRealtimeWS, config: ProviderSessionConfig, handlers: RealtimeSessionHandlers) {
    super("xAI", rt, config, handlers);
  }

  /** Sends nothing to xAI (it has no cancel or truncate); the interrupted reply's later audio is dropped. */
  interrupt(_itemId: string | null, _playedMs: number): void {
    if (!this.live || !this.responseInFlight) return;
    this.#droppingAudio = true;
    this.#dropNextRequested = this.responseRequested;
  }

  protected configure(): void {
    this.sendJson(xaiSessionUpdateEvent(this.config));
  }

  /** The scripted opening line is in the session instructions; a bare response.create starts it. */
  protected greetingEvent(): RealtimeClientEvent {
    return RESPONSE_CREATE;
  }

  /**
   * xAI documents a bare `response.create` after a user text item as the way to prompt a reply (no
   * per-response `instructions`), so the instructions go in as that item and stay in the conversation.
   */
  protected replyEvents(instructions: string): readonly RealtimeClientEvent[] {
    return [contextItemEvent(instructions), RESPONSE_CREATE];
  }

  protected override acceptAudio(): boolean {
    return !this.#droppingAudio;
  }

  protected override responseStarted(requested: boolean): void {
    if (requested && this.#dropNextRequested) {
      this.#dropNextRequested = false;
      return;
    }
    this.#droppingAudio = false;
  }
}

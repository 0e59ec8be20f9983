/**
 * Client content (context, reply turns) on its way to Gemini Live. While a resume is in flight there is
 * no socket: content waits for the next one. A reply turn asked for while the model is speaking waits
 * for that turn to end, since Live cuts off the generation in progress on new client content.
 */
import type { LiveSendClientContentParameters } from "@google/genai";

/** The one thing the outbox needs of a connection. */
export interface ContentSink {
  sendClientContent(content: LiveSendClientContentParameters): void;
}

export class ContentOutbox {
  /** Sent in order on the next connection. */
  readonly #held: LiveSendClientContentParameters[] = [];
  /** Reply turns waiting for the model's turn to end; one goes per turn end so none cuts another off. */
  readonly #replies: LiveSendClientContentParameters[] = [];

  /** Sends now, or holds while `sink` is null (no connection up). */
  send(content: LiveSendClientContentParameters, sink: ContentSink | null): void {
    if (sink !== null) sink.sendClientContent(content);
    else this.#held.push(content);
  }

  /** A reply turn: sent now unless the model is speaking (or earlier replies still wait). */
  reply(turn: LiveSendClientContentParameters, modelSpeaking: boolean, sink: ContentSink | null): void {
    if (modelSpeaking || this.#replies.length > 0) this.#replies.push(turn);
    else this.send(turn, sink);
  }

  /** The model's turn ended (completed, interrupted or lost with its connection): the next reply may go. */
  turnEnded(sink: ContentSink | null): void {
    const next = this.#replies.shift();
    if (next !== undefined) this.send(next, sink);
  }

  /** A new connection is up: everything held goes to it, in order. */
  flushHeld(sink: ContentSink): void {
    for (const content of this.#held.splice(0)) sink.sendClientContent(content);
  }
}

/**
 * One reply of the fake OpenAI server, in GA event order: `response.created`, the output item, μ-law
 * audio deltas (paced like the real API or all at once) with transcript deltas, then `response.done`.
 */
import type {
  RealtimeConversationItemAssistantMessage,
  RealtimeConversationItemFunctionCall,
  RealtimeResponse,
  RealtimeResponseStatus,
  RealtimeServerEvent,
} from "openai/resources/realtime/realtime";
import { pacedChunks, type ChunkPacing } from "../pacing.js";

export interface FakeReply {
  readonly text: string;
  /** μ-law 8 kHz bytes. */
  readonly audio: Buffer;
}

/** What a response needs from its connection. */
export interface ResponseWire {
  send(event: RealtimeServerEvent): void;
  nextId(prefix: "event" | "item" | "resp" | "call"): string;
  /** Counts audio per item so truncation can be checked like the real API does. */
  audioSent(itemId: string, bytes: number): void;
  finished(response: FakeResponse): void;
}

const MULAW_BYTES_PER_MS = 8;

export class FakeResponse {
  readonly id: string;
  readonly #wire: ResponseWire;
  readonly #output: Array<RealtimeConversationItemAssistantMessage | RealtimeConversationItemFunctionCall> = [];
  #cancelPacing: () => void = () => {};
  #finished = false;

  constructor(wire: ResponseWire) {
    this.#wire = wire;
    this.id = wire.nextId("resp");
  }

  /** Speaks `reply` as a new assistant item. */
  speak(reply: FakeReply, pacing: ChunkPacing): void {
    this.#created();
    const itemId = this.#wire.nextId("item");
    const item: RealtimeConversationItemAssistantMessage = {
      id: itemId, object: "realtime.item", type: "message", role: "assistant", status: "in_progress", content: [],
    };
    this.#output.push(item);
    const at = { item_id: itemId, output_index: 0, content_index: 0, response_id: this.id };
    this.#send({ type: "response.output_item.added", event_id: this.#eventId(), item, output_index: 0, response_id: this.id });
    this.#send({ type: "response.content_part.added", event_id: this.#eventId(), ...at, part: { type: "audio", transcript: "" } });

    const chunkBytes = Math.max(1, pacing.chunkMs * MULAW_BYTES_PER_MS);
    const chunkCount = Math.ceil(reply.audio.length / chunkBytes);
    const words = reply.text.split(/\s+/).filter((w) => w !== "");
    let wordIndex = 0;
    const sendChunk = (k: number): void => {
      const audio = reply.audio.subarray(k * chunkBytes, (k + 1) * chunkBytes);
      this.#wire.audioSent(itemId, audio.length);
      this.#send({ type: "response.output_audio.delta", event_id: this.#eventId(), ...at, delta: audio.toString("base64") });
      // Spread the transcript over the audio the way the model interleaves them.
      const wordsDue = chunkCount === 0 ? words.length : Math.ceil(((k + 1) * words.length) / chunkCount);
      for (; wordIndex < wordsDue; wordIndex++) {
        const delta = wordIndex < words.length - 1 ? `${words[wordIndex]} ` : (words[wordIndex] ?? "");
        this.#send({ type: "response.output_audio_transcript.delta", event_id: this.#eventId(), ...at, delta });
      }
    };
    const complete = (): void => {
      if (this.#finished) return;
      this.#send({ type: "response.output_audio.done", event_id: this.#eventId(), ...at });
      this.#send({ type: "response.output_audio_transcript.done", event_id: this.#eventId(), ...at, transcript: reply.text });
      item.status = "completed";
      item.content = [{ type: "output_audio", transcript: reply.text }];
      this.#send({ type: "response.output_item.done", event_id: this.#eventId(), item, output_index: 0, response_id: this.id });
      this.#done("completed", { type: "completed" });
    };
    this.#cancelPacing = pacedChunks(chunkCount, pacing, { sendChunk, complete, stopped: () => this.#finished });
  }

  /** A reply that is only a function call, as the model sends when it decides to use a tool. */
  callTool(name: string, args: string): string {
    this.#created();
    const itemId = this.#wire.nextId("item");
    const callId = this.#wire.nextId("call");
    const item: RealtimeConversationItemFunctionCall = {
      id: itemId, object: "realtime.item", type: "function_call", status: "in_progress", name, call_id: callId, arguments: "",
    };
    this.#output.push(item);
    const base = { output_index: 0, response_id: this.id };
    this.#send({ type: "response.output_item.added", event_id: this.#eventId(), item, ...base });
    this.#send({
      type: "response.function_call_arguments.done", event_id: this.#eventId(), ...base,
      item_id: itemId, call_id: callId, name, arguments: args,
    });
    item.status = "completed";
    item.arguments = args;
    this.#send({ type: "response.output_item.done", event_id: this.#eventId(), item, ...base });
    this.#done("completed", { type: "completed" });
    return callId;
  }

  /** Stops the audio at once; the real API reports the reply as cancelled with a reason. */
  cancel(reason: "turn_detected" | "client_cancelled"): void {
    if (this.#finished) return;
    for (const item of this.#output) item.status = "incomplete";
    this.#done("cancelled", { type: "cancelled", reason });
  }

  /** The socket went away: stop timers without sending anything. */
  abandon(): void {
    this.#finished = true;
    this.#cancelPacing();
  }

  #created(): void {
    this.#send({ type: "response.created", event_id: this.#eventId(), response: this.#snapshot("in_progress") });
  }

  #done(status: "completed" | "cancelled", details: RealtimeResponseStatus): void {
    this.abandon();
    this.#send({ type: "response.done", event_id: this.#eventId(), response: this.#snapshot(status, details) });
    this.#wire.finished(this);
  }

  #snapshot(status: NonNullable<RealtimeResponse["status"]>, details?: RealtimeResponseStatus): RealtimeResponse {
    const response: RealtimeResponse = {
      id: this.id, object: "realtime.response", status, output: [...this.#output], output_modalities: ["audio"],
    };
    if (details !== undefined) response.status_details = details;
    return response;
  }

  #eventId(): string {
    return this.#wire.nextId("event");
  }

  #send(event: RealtimeServerEvent): void {
    this.#wire.send(event);
  }
}

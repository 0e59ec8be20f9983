/**
 * One agent reply of the fake ElevenLabs server: `agent_response` with the first audio chunk, then audio
 * chunks paced like the real service (or all at once), every chunk carrying the reply's `event_id`.
 */
import type { AgentResponse, Audio } from "@elevenlabs/types";
import { pacedChunks, type ChunkPacing } from "../pacing.js";
import { bytesPerMs, mulawToWire, type FakeAudioFormat } from "./wireAudio.js";

export interface FakeAgentReply {
  readonly text: string;
  /** μ-law 8 kHz bytes. */
  readonly audio: Buffer;
}

export interface ReplyWire {
  send(message: AgentResponse | Audio): void;
  finished(reply: FakeReply): void;
}

export class FakeReply {
  readonly eventId: number;
  readonly text: string;
  readonly #wire: ReplyWire;
  readonly #audio: Buffer;
  readonly #chunkBytes: number;
  readonly #pacing: ChunkPacing;
  #cancelPacing: () => void = () => {};
  #sentBytes = 0;
  #finished = false;

  constructor(wire: ReplyWire, reply: FakeAgentReply, eventId: number, pacing: ChunkPacing, format: FakeAudioFormat) {
    this.#wire = wire;
    this.eventId = eventId;
    this.text = reply.text;
    this.#audio = mulawToWire(reply.audio, format);
    this.#chunkBytes = Math.max(2, pacing.chunkMs * bytesPerMs(format));
    this.#pacing = pacing;
  }

  get active(): boolean {
    return !this.#finished;
  }

  /** The words of the reply spoken so far, in proportion to the audio sent: what a correction reports. */
  spokenText(): string {
    const words = this.text.split(/\s+/).filter((w) => w !== "");
    const fraction = this.#audio.length === 0 ? 1 : this.#sentBytes / this.#audio.length;
    return words.slice(0, Math.ceil(words.length * fraction)).join(" ");
  }

  speak(): void {
    this.#wire.send({ type: "agent_response", agent_response_event: { agent_response: this.text, event_id: this.eventId } });
    const chunks = Math.ceil(this.#audio.length / this.#chunkBytes);
    this.#cancelPacing = pacedChunks(chunks, this.#pacing, {
      sendChunk: (k) => this.#sendChunk(k),
      complete: () => this.#finish(),
      stopped: () => this.#finished,
    });
  }

  /** The caller barged in, or the socket went away: stop sending without another word. */
  stop(): void {
    this.#finish();
  }

  #sendChunk(k: number): void {
    const chunk = this.#audio.subarray(k * this.#chunkBytes, (k + 1) * this.#chunkBytes);
    this.#sentBytes += chunk.length;
    this.#wire.send({ type: "audio", audio_event: { audio_base_64: chunk.toString("base64"), event_id: this.eventId } });
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cancelPacing();
    this.#wire.finished(this);
  }
}

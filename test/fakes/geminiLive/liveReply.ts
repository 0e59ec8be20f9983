/**
 * One model turn of the fake Gemini server: the reply's μ-law 8 kHz audio converted to the Live wire's
 * PCM16 24 kHz, sent as `modelTurn` inlineData chunks (paced like playback, or at once) with
 * `outputTranscription` fragments, then `generationComplete` and `turnComplete`.
 */
import type { LiveServerFrame } from "./serverMessage.js";
import { MULAW_8K, type AudioFormat } from "../../../media/audioFormat.js";
import { createTranscoder } from "../../../media/transcoder.js";
import { pacedChunks, type ChunkPacing } from "../pacing.js";

export interface FakeLiveReplyScript {
  readonly text: string;
  /** μ-law 8 kHz bytes. */
  readonly audio: Buffer;
}

export interface LiveReplyWire {
  send(message: LiveServerFrame): void;
  /** The turn ended (completed or cut); the connection may start another. */
  finished(reply: LiveReply): void;
}

export const LIVE_OUTPUT_FORMAT: AudioFormat = Object.freeze({ encoding: "pcm16", rate: 24_000 });
export const LIVE_OUTPUT_MIME = "audio/pcm;rate=24000";
const PCM24_BYTES_PER_MS = 48;

/** The reply's audio as the Live API sends it: PCM16 LE at 24 kHz. */
export function mulawToLivePcm(mulaw: Buffer): Buffer {
  const transcoder = createTranscoder(MULAW_8K, LIVE_OUTPUT_FORMAT);
  try {
    return Buffer.from(transcoder.convert(mulaw.toString("base64")), "base64");
  } finally {
    transcoder.close();
  }
}

export class LiveReply {
  readonly #wire: LiveReplyWire;
  #cancelPacing: () => void = () => {};
  #finished = false;

  constructor(wire: LiveReplyWire) {
    this.#wire = wire;
  }

  get active(): boolean {
    return !this.#finished;
  }

  speak(script: FakeLiveReplyScript, pacing: ChunkPacing): void {
    const pcm = mulawToLivePcm(script.audio);
    const chunkBytes = Math.max(2, pacing.chunkMs * PCM24_BYTES_PER_MS);
    const chunkCount = Math.ceil(pcm.length / chunkBytes);
    const words = script.text.split(/\s+/).filter((w) => w !== "");
    let wordIndex = 0;
    const sendChunk = (k: number): void => {
      const data = pcm.subarray(k * chunkBytes, (k + 1) * chunkBytes).toString("base64");
      this.#wire.send({ serverContent: { modelTurn: { role: "model", parts: [{ inlineData: { mimeType: LIVE_OUTPUT_MIME, data } }] } } });
      // Spread the transcript over the audio, the way the service interleaves them.
      const wordsDue = Math.ceil(((k + 1) * words.length) / chunkCount);
      let text = "";
      for (; wordIndex < wordsDue; wordIndex++) text += wordIndex < words.length - 1 ? `${words[wordIndex]} ` : (words[wordIndex] ?? "");
      if (text !== "") this.#wire.send({ serverContent: { outputTranscription: { text } } });
    };
    const complete = (): void => {
      if (this.#finished) return;
      this.#finished = true;
      this.#wire.send({ serverContent: { generationComplete: true } });
      this.#wire.send({ serverContent: { turnComplete: true } });
      this.#wire.finished(this);
    };
    this.#cancelPacing = pacedChunks(chunkCount, pacing, { sendChunk, complete, stopped: () => this.#finished });
  }

  /** The caller barged in: the service stops, says `interrupted`, and (usually) closes the turn. */
  interrupt(sendTurnComplete = true): void {
    if (this.#finished) return;
    this.#stop();
    this.#wire.send({ serverContent: { interrupted: true } });
    if (sendTurnComplete) this.#wire.send({ serverContent: { turnComplete: true } });
    this.#wire.finished(this);
  }

  /** The socket went away: stop timers without sending anything. */
  abandon(): void {
    this.#stop();
  }

  #stop(): void {
    this.#finished = true;
    this.#cancelPacing();
  }
}

/**
 * Gemini Live's conformance double: the loopback fake Live server, which the official @google/genai
 * client in the server under test connects to. Live speaks PCM16 (16 kHz in, 24 kHz out); the fake
 * converts the suite's μ-law replies, and this double converts the caller audio it heard back to μ-law.
 *
 * `sendError`: Live has no error event; the service reports a failure by closing the socket with a code
 * and reason (1011 for its own errors). The adapter reports that close as a recoverable error carrying
 * the reason and resumes the session on its newest handle, so the call stays up.
 */
import { MULAW_8K } from "../../../media/audioFormat.js";
import { createTranscoder } from "../../../media/transcoder.js";
import { GEMINI_INPUT_FORMAT } from "../../../providers/gemini/index.js";
import { FAKE_GEMINI_API_KEY, FakeGeminiLiveServer } from "../../fakes/geminiLiveServer.js";
import type { ConformanceFake, StartConformanceFake } from "../contract.js";

/** A tool's output as our server wrote it: Live carries an object, and a bare value arrives as `{result}`. */
function outputText(response: Record<string, unknown> | undefined): string {
  const keys = Object.keys(response ?? {});
  const result = response?.["result"];
  if (keys.length === 1 && typeof result === "string") return result;
  return JSON.stringify(response ?? {});
}

class GeminiConformanceFake implements ConformanceFake {
  readonly provider = "gemini";
  readonly env: Readonly<Record<string, string>>;
  readonly agent: Readonly<Record<string, unknown>> = {};
  readonly network = true;
  readonly resumesAfterDrop = true;
  readonly #server: FakeGeminiLiveServer;

  constructor(server: FakeGeminiLiveServer) {
    this.#server = server;
    this.env = { GEMINI_API_KEY: FAKE_GEMINI_API_KEY, GEMINI_BASE_URL: server.url };
  }

  inputAudioMulaw(): Buffer {
    const toMulaw = createTranscoder(GEMINI_INPUT_FORMAT, MULAW_8K);
    try {
      return Buffer.from(toMulaw.convert(this.#server.inputAudio().toString("base64")), "base64");
    } finally {
      toMulaw.close();
    }
  }

  connectionCount(): number {
    return this.#server.connectionCount;
  }

  dropConnection(): void {
    this.#server.dropConnection();
  }

  sendError(message: string): void {
    this.#server.closeWithError(message);
  }

  requestToolCall(name: string, args: Record<string, unknown>): string {
    return this.#server.requestToolCall(name, args);
  }

  async waitForToolResult(callId: string, timeoutMs?: number): Promise<string> {
    return outputText((await this.#server.waitForToolResponse(callId, timeoutMs)).response);
  }

  replyRequests(): readonly (string | null)[] {
    return [...this.#server.replyRequests];
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}

export const startGeminiConformanceFake: StartConformanceFake = async (options) => {
  const server = await FakeGeminiLiveServer.start({ replies: options.replies, callerTexts: options.callerTexts });
  return new GeminiConformanceFake(server);
};

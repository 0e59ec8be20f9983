/**
 * OpenAI Realtime's conformance double: the loopback fake GA server, which the official SDK client in the
 * server under test connects to. The xAI double (./xai.ts) is the same server in its xAI dialect.
 */
import { FAKE_OPENAI_API_KEY, FakeOpenAIRealtimeServer } from "../../fakes/openaiRealtimeServer.js";
import type { ConformanceFake, StartConformanceFake } from "../contract.js";

export interface RealtimeDoubleIdentity {
  readonly provider: string;
  readonly env: Readonly<Record<string, string>>;
  readonly agent: Readonly<Record<string, unknown>>;
}

/** The contract over a running fake realtime server; the fake already speaks μ-law 8 kHz both ways. */
export class RealtimeServerConformanceFake implements ConformanceFake {
  readonly provider: string;
  readonly env: Readonly<Record<string, string>>;
  readonly agent: Readonly<Record<string, unknown>>;
  readonly network = true;
  readonly resumesAfterDrop = false;
  readonly #server: FakeOpenAIRealtimeServer;

  constructor(server: FakeOpenAIRealtimeServer, identity: RealtimeDoubleIdentity) {
    this.#server = server;
    this.provider = identity.provider;
    this.env = identity.env;
    this.agent = identity.agent;
  }

  inputAudioMulaw(): Buffer {
    return this.#server.inputAudio();
  }

  connectionCount(): number {
    return this.#server.connectionCount;
  }

  dropConnection(): void {
    this.#server.dropConnection();
  }

  sendError(message: string): void {
    this.#server.sendError(message, "conformance_error");
  }

  requestToolCall(name: string, args: Record<string, unknown>): string {
    return this.#server.requestToolCall(name, args);
  }

  waitForToolResult(callId: string, timeoutMs?: number): Promise<string> {
    return this.#server.waitForToolOutput(callId, timeoutMs);
  }

  replyRequests(): readonly (string | null)[] {
    return [...this.#server.replyRequests];
  }

  close(): Promise<void> {
    return this.#server.close();
  }
}

export const startOpenAIConformanceFake: StartConformanceFake = async (options) => {
  const server = await FakeOpenAIRealtimeServer.start({ dialect: "openai", replies: options.replies, callerTexts: options.callerTexts });
  return new RealtimeServerConformanceFake(server, {
    provider: "openai",
    env: { OPENAI_API_KEY: FAKE_OPENAI_API_KEY, OPENAI_BASE_URL: server.url },
    agent: {},
  });
};

/**
 * A loopback stand-in for ElevenLabs Agents that the official REST client and our `ws` socket connect to:
 * the signed-URL endpoint (`xi-api-key` auth), the conversation socket (signature checked), typed
 * messages both ways, scripted replies and recordings for tests to assert on.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { ClientToolResult, ConversationInitiation } from "@elevenlabs/types";
import { DEFAULT_VAD, type EnergyVadOptions } from "./openaiRealtime/energyVad.js";
import { FakeConversation, type FakeClientMessage, type FakeServerMessage } from "./elevenlabs/fakeConversation.js";
import type { FakeAgentReply } from "./elevenlabs/fakeReply.js";
import type { FakeAudioFormat } from "./elevenlabs/wireAudio.js";
import { toneReply } from "./elevenlabs/tone.js";
import { sendJson } from "./httpJson.js";
import { DEFAULT_CALLER_TEXT, listenOnLoopback } from "./loopback.js";
import { rejectUpgradeWithJson } from "./upgradeRejection.js";
import { WAIT_TIMEOUT_MS, Waiters } from "./waiters.js";

export type { FakeAgentReply } from "./elevenlabs/fakeReply.js";
export type { FakeClientMessage, FakeServerMessage } from "./elevenlabs/fakeConversation.js";
export type { FakeAudioFormat } from "./elevenlabs/wireAudio.js";
export { toneReply } from "./elevenlabs/tone.js";
export { DEFAULT_CALLER_TEXT } from "./loopback.js";

export const FAKE_ELEVENLABS_API_KEY = "xi-fake-elevenlabs-test-key";
export const FAKE_ELEVENLABS_AGENT_ID = "agent_fake0000patchbay";
export const SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url";
export const CONVERSATION_PATH = "/v1/convai/conversation";

export interface FakeElevenLabsOptions {
  readonly apiKey?: string;
  /** The one agent this fake knows; other ids get a 404 from the signed-URL endpoint. */
  readonly agentId?: string;
  /** Replies in turn (the first is the first message), cycling. Default: a 1.5 s tone. */
  readonly replies?: readonly FakeAgentReply[];
  /** Caller transcripts in turn, one per detected caller utterance, cycling. */
  readonly callerTexts?: readonly string[];
  /** The agent's audio formats, as ElevenLabs sets them per agent. Default `ulaw_8000` both ways. */
  readonly inputFormat?: FakeAudioFormat;
  readonly outputFormat?: FakeAudioFormat;
  /** `realtime` (default) sends one chunk per `chunkMs` of wall time; `burst` sends a reply at once. */
  readonly audioPacing?: "realtime" | "burst";
  /** Audio per `audio` message. Default 100 ms. */
  readonly chunkMs?: number;
  /** Default 1 s. */
  readonly pingIntervalMs?: number;
  /** False: never send `conversation_initiation_metadata` (a stuck service, for connect timeouts). */
  readonly sendMetadata?: boolean;
  /** Send `agent_response_correction` with the spoken part of an interrupted reply. Default false. */
  readonly sendCorrections?: boolean;
  readonly vad?: Partial<EnergyVadOptions>;
}

export interface SignedUrlRequest {
  readonly agentId: string | null;
  readonly apiKey: string | undefined;
}

function rejectUpgrade(socket: Duplex, status: number, statusText: string, message: string): void {
  rejectUpgradeWithJson(socket, status, statusText, { detail: { status: statusText.toLowerCase().replace(/ /g, "_"), message } });
}

export class FakeElevenLabsServer {
  /** Every client message but audio, in arrival order, across conversations. */
  readonly received: FakeClientMessage[] = [];
  readonly signedUrlRequests: SignedUrlRequest[] = [];
  /** Path and query of every conversation socket upgrade. */
  readonly upgrades: string[] = [];
  readonly agentId: string;

  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #apiKey: string;
  readonly #signatures = new Set<string>();
  readonly #conversations = new Set<FakeConversation>();
  readonly #audio: Buffer[] = [];
  readonly #waiters = new Waiters("fake ElevenLabs");
  readonly #options: FakeElevenLabsOptions;
  #port = 0;
  #conversationCount = 0;
  #replyIndex = 0;
  #callerIndex = 0;

  static async start(options: FakeElevenLabsOptions = {}): Promise<FakeElevenLabsServer> {
    const server = new FakeElevenLabsServer(options);
    server.#port = await listenOnLoopback(server.#http);
    return server;
  }

  private constructor(options: FakeElevenLabsOptions) {
    this.#options = options;
    this.#apiKey = options.apiKey ?? FAKE_ELEVENLABS_API_KEY;
    this.agentId = options.agentId ?? FAKE_ELEVENLABS_AGENT_ID;
    this.#http = createServer((req, res) => this.#onRequest(req, res));
    this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
  }

  /** Base URL for `ELEVENLABS_BASE_URL` / the provider's `baseUrl`. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get connectionCount(): number {
    return this.#conversations.size;
  }

  /** Every `conversation_initiation_client_data` received, in order. */
  get initiations(): ConversationInitiation[] {
    return this.received.filter((m): m is ConversationInitiation => m.type === "conversation_initiation_client_data");
  }

  /** The text of every `user_message` (how Patchbay asks the agent to speak now), in arrival order. */
  get userMessages(): string[] {
    return this.received.flatMap((m) => (m.type === "user_message" ? [m.text ?? ""] : []));
  }

  /** All caller audio received, converted to μ-law 8 kHz, concatenated. */
  inputAudio(): Buffer {
    return Buffer.concat(this.#audio);
  }

  /** Cuts every conversation socket without a close frame, like a network failure. */
  dropConnection(): void {
    for (const conversation of this.#conversations) conversation.terminate();
  }

  /** Sends an `error` message on the newest conversation; the socket stays up. */
  sendError(message: string): void {
    this.#newest().sendError(message);
  }

  /** Sends any server message on the newest conversation, for tests that script the wire exactly. */
  send(message: FakeServerMessage): void {
    this.#newest().send(message);
  }

  /** The agent calls a client tool on the newest conversation; returns the `tool_call_id`. */
  requestToolCall(name: string, parameters: Record<string, unknown>): string {
    return this.#newest().requestToolCall(name, parameters);
  }

  /** Resolves with the `client_tool_result` for `toolCallId`. */
  async waitForToolResult(toolCallId: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<ClientToolResult> {
    const isResult = (m: FakeClientMessage): m is ClientToolResult => m.type === "client_tool_result" && m.tool_call_id === toolCallId;
    return this.#waiters.waitFor(() => this.received.find(isResult), `client_tool_result for ${toolCallId}`, timeoutMs);
  }

  /** Resolves with the `nth` client message of `type` (counting ones already received). */
  async waitForMessage<T extends FakeClientMessage["type"]>(type: T, nth = 1, timeoutMs = WAIT_TIMEOUT_MS): Promise<Extract<FakeClientMessage, { type: T }>> {
    const isType = (m: FakeClientMessage): m is Extract<FakeClientMessage, { type: T }> => m.type === type;
    return this.#waiters.waitFor(() => this.received.filter(isType)[nth - 1], `${type} #${nth}`, timeoutMs);
  }

  /** Resolves once at least `bytes` of caller audio (μ-law 8 kHz) arrived. */
  async waitForInputAudio(bytes: number, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
    const total = (): number => this.#audio.reduce((n, b) => n + b.length, 0);
    await this.#waiters.waitFor(() => (total() >= bytes ? true : undefined), `${bytes} bytes of caller audio`, timeoutMs);
  }

  async close(): Promise<void> {
    this.dropConnection();
    this.#waiters.abandonAll("closed");
    this.#wss.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #newest(): FakeConversation {
    let newest: FakeConversation | undefined;
    for (const conversation of this.#conversations) newest = conversation;
    if (newest === undefined) throw new Error("fake ElevenLabs: no conversation is connected");
    return newest;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== SIGNED_URL_PATH) {
      sendJson(res, 404, { detail: "Not Found" });
      return;
    }
    const apiKey = req.headers["xi-api-key"];
    const agentId = url.searchParams.get("agent_id");
    this.signedUrlRequests.push({ agentId, apiKey: typeof apiKey === "string" ? apiKey : undefined });
    if (apiKey !== this.#apiKey) {
      sendJson(res, 401, { detail: { status: "invalid_api_key", message: "Invalid API key" } });
      return;
    }
    if (agentId !== this.agentId) {
      sendJson(res, 404, { detail: { status: "agent_not_found", message: `Agent ${agentId ?? "(none)"} not found` } });
      return;
    }
    const signature = randomBytes(16).toString("hex");
    this.#signatures.add(signature);
    const query = new URLSearchParams({ agent_id: agentId, conversation_signature: signature });
    sendJson(res, 200, { signed_url: `ws://127.0.0.1:${this.#port}${CONVERSATION_PATH}?${query.toString()}` });
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    this.upgrades.push(url.pathname + url.search);
    if (url.pathname !== CONVERSATION_PATH) {
      rejectUpgrade(socket, 404, "Not Found", `No route for ${url.pathname}`);
      return;
    }
    const signature = url.searchParams.get("conversation_signature") ?? "";
    // Signed URLs are single-use here: a replayed or forged one is refused like an expired one.
    if (url.searchParams.get("agent_id") !== this.agentId || !this.#signatures.delete(signature)) {
      rejectUpgrade(socket, 403, "Forbidden", "Invalid or expired conversation signature");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    const options = this.#options;
    const replies = options.replies !== undefined && options.replies.length > 0 ? options.replies : [toneReply()];
    const callerTexts = options.callerTexts !== undefined && options.callerTexts.length > 0 ? options.callerTexts : [DEFAULT_CALLER_TEXT];
    this.#conversationCount += 1;
    const conversation = new FakeConversation(
      ws,
      {
        inputFormat: options.inputFormat ?? "ulaw_8000",
        outputFormat: options.outputFormat ?? "ulaw_8000",
        pacing: { chunkMs: options.chunkMs ?? 100, realtime: options.audioPacing !== "burst" },
        vad: { ...DEFAULT_VAD, ...options.vad },
        pingIntervalMs: options.pingIntervalMs ?? 1_000,
        sendMetadata: options.sendMetadata !== false,
        sendCorrections: options.sendCorrections === true,
        record: (message) => {
          this.received.push(message);
          this.#waiters.changed();
        },
        recordAudio: (mulaw) => {
          this.#audio.push(mulaw);
          this.#waiters.changed();
        },
        nextReply: () => replies[this.#replyIndex++ % replies.length] ?? toneReply(),
        nextCallerText: () => callerTexts[this.#callerIndex++ % callerTexts.length] ?? DEFAULT_CALLER_TEXT,
      },
      `conv_fake${this.#conversationCount.toString().padStart(6, "0")}`,
    );
    this.#conversations.add(conversation);
    ws.on("close", () => this.#conversations.delete(conversation));
  }
}

/**
 * A loopback stand-in for the OpenAI Realtime API (GA protocol) — or, with `dialect: "xai"`, for xAI's
 * Grok Voice Agent API, which speaks the same events with a hybrid session — that the official SDK client
 * connects to: Bearer auth on the upgrade, typed events both ways, a crude server VAD, scripted replies,
 * and recordings (client events, input audio, truncations) for tests to assert on.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { ConversationItemCreateEvent, ConversationItemTruncateEvent } from "openai/resources/realtime/realtime";
import { DEFAULT_VAD, type EnergyVadOptions } from "./openaiRealtime/energyVad.js";
import { FakeConnection, type FakeClientEvent, type FakeServerState } from "./openaiRealtime/fakeConnection.js";
import type { FakeReply } from "./openaiRealtime/fakeResponse.js";
import type { FakeDialect } from "./openaiRealtime/fakeSession.js";
import { fadedTone } from "./tone.js";
import { DEFAULT_CALLER_TEXT, listenOnLoopback } from "./loopback.js";
import { rejectUpgradeWithJson } from "./upgradeRejection.js";
import { WAIT_TIMEOUT_MS, Waiters } from "./waiters.js";

export type { FakeClientEvent } from "./openaiRealtime/fakeConnection.js";
export type { FakeReply } from "./openaiRealtime/fakeResponse.js";
export type { FakeDialect } from "./openaiRealtime/fakeSession.js";
export { DEFAULT_CALLER_TEXT } from "./loopback.js";

export const FAKE_OPENAI_API_KEY = "sk-fake-openai-test-key";
export const FAKE_XAI_API_KEY = "xai-fake-test-key";
export const REALTIME_PATH = "/v1/realtime";
export const DEFAULT_REPLY_TEXT = "Hello, this is the fake OpenAI voice.";

export interface FakeOpenAIRealtimeOptions {
  /** Whose API to stand in for. Default `openai`. */
  readonly dialect?: FakeDialect;
  /** The key clients must send as `Authorization: Bearer KEY` (default per dialect); anything else gets a 401 upgrade. */
  readonly apiKey?: string;
  /** Reply scripts used in turn (the first one for the greeting), cycling when exhausted. Default: a 1.5 s tone. */
  readonly replies?: readonly FakeReply[];
  /** Caller transcripts used in turn, one per detected caller utterance, cycling. */
  readonly callerTexts?: readonly string[];
  /** `realtime` (default) sends one chunk per `chunkMs` of wall time; `burst` sends a reply at once. */
  readonly audioPacing?: "realtime" | "burst";
  /** Audio per `response.output_audio.delta`. Default 100 ms. */
  readonly chunkMs?: number;
  /** Holds back `input_audio_buffer.speech_started`, like a slow server VAD. Default 0. */
  readonly speechStartedDelayMs?: number;
  readonly vad?: Partial<EnergyVadOptions>;
}

export interface FakeHandshake {
  /** Path and query of the upgrade request, e.g. `/v1/realtime?model=gpt-realtime`. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export type FakeTruncate = Pick<ConversationItemTruncateEvent, "item_id" | "content_index" | "audio_end_ms">;

type ClientEventOf<T extends FakeClientEvent["type"]> = Extract<FakeClientEvent, { type: T }>;

type ToolOutputEvent = ConversationItemCreateEvent & { item: { type: "function_call_output"; call_id: string; output: string } };

function isToolOutput(event: FakeClientEvent, callId: string): event is ToolOutputEvent {
  return event.type === "conversation.item.create" && event.item.type === "function_call_output" && event.item.call_id === callId;
}

/** 1.5 s of a 660 Hz tone with short fades: unmistakable in a recording, and loud enough for a VAD. */
export function toneReply(text = DEFAULT_REPLY_TEXT, durationMs = 1_500, hz = 660): FakeReply {
  return { text, audio: fadedTone(durationMs, hz) };
}

function rejectUpgrade(socket: Duplex, status: number, statusText: string, message: string, code: string): void {
  rejectUpgradeWithJson(socket, status, statusText, { error: { message, type: "invalid_request_error", code, param: null } });
}

export class FakeOpenAIRealtimeServer {
  /** Every client event, in arrival order, across connections. */
  readonly received: FakeClientEvent[] = [];
  readonly truncates: FakeTruncate[] = [];
  /** One per reply the client asked for (`response.create`): the instructions that guided it, or null for a bare one. */
  readonly replyRequests: (string | null)[] = [];
  readonly handshakes: FakeHandshake[] = [];

  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #apiKey: string;
  readonly #connections = new Set<FakeConnection>();
  readonly #audio: Buffer[] = [];
  readonly #waiters = new Waiters("fake realtime server");
  readonly #state: FakeServerState;
  #port = 0;

  static async start(options: FakeOpenAIRealtimeOptions = {}): Promise<FakeOpenAIRealtimeServer> {
    const server = new FakeOpenAIRealtimeServer(options);
    server.#port = await listenOnLoopback(server.#http);
    return server;
  }

  private constructor(options: FakeOpenAIRealtimeOptions) {
    const dialect = options.dialect ?? "openai";
    this.#apiKey = options.apiKey ?? (dialect === "xai" ? FAKE_XAI_API_KEY : FAKE_OPENAI_API_KEY);
    const replies = options.replies !== undefined && options.replies.length > 0 ? options.replies : [toneReply()];
    const callerTexts = options.callerTexts !== undefined && options.callerTexts.length > 0 ? options.callerTexts : [DEFAULT_CALLER_TEXT];
    let replyIndex = 0;
    let callerIndex = 0;
    this.#state = {
      dialect,
      vad: { ...DEFAULT_VAD, ...options.vad },
      pacing: { chunkMs: options.chunkMs ?? 100, realtime: options.audioPacing !== "burst" },
      speechStartedDelayMs: options.speechStartedDelayMs ?? 0,
      record: (event) => this.#record(event),
      recordAudio: (mulaw) => this.#audio.push(mulaw),
      recordReplyRequest: (instructions) => this.replyRequests.push(instructions),
      recordTruncate: ({ item_id, content_index, audio_end_ms }) => this.truncates.push({ item_id, content_index, audio_end_ms }),
      nextReply: () => replies[replyIndex++ % replies.length] ?? toneReply(),
      nextCallerText: () => callerTexts[callerIndex++ % callerTexts.length] ?? DEFAULT_CALLER_TEXT,
    };
    this.#http = createServer((_req, res) => res.writeHead(404).end());
    this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
  }

  /** Base URL for `OPENAI_BASE_URL` / `XAI_BASE_URL` / the provider's `baseURL`. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/v1`;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** All input audio received (decoded from every `input_audio_buffer.append`), concatenated. */
  inputAudio(): Buffer {
    return Buffer.concat(this.#audio);
  }

  /** Cuts every client socket without a close frame, like a network failure. */
  dropConnection(): void {
    for (const connection of this.#connections) connection.terminate();
  }

  /** Sends an `error` event to the newest connection. */
  sendError(message: string, code: string | null = "fake_error"): void {
    this.#newest().sendError(message, code);
  }

  /** The model decides to call a tool: a response carrying `response.function_call_arguments.done`. Returns the call id. */
  requestToolCall(name: string, args: string | Record<string, unknown>): string {
    return this.#newest().requestToolCall(name, typeof args === "string" ? args : JSON.stringify(args));
  }

  /** Resolves with the `nth` client event of `type` (counting ones already received). */
  waitForClientEvent<T extends FakeClientEvent["type"]>(type: T, nth = 1, timeoutMs = WAIT_TIMEOUT_MS): Promise<ClientEventOf<T>> {
    return this.#waiters.waitFor(
      () => this.received.filter((e): e is ClientEventOf<T> => e.type === type)[nth - 1],
      `${type} #${nth}`,
      timeoutMs,
    );
  }

  /** Resolves with the output the client sent back for a tool call (`function_call_output` with that call id). */
  async waitForToolOutput(callId: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<string> {
    const event = await this.#waiters.waitFor(() => this.received.find((e) => isToolOutput(e, callId)), `function_call_output for ${callId}`, timeoutMs);
    return event.item.output;
  }

  async close(): Promise<void> {
    this.#waiters.abandonAll("closed");
    this.dropConnection();
    this.#wss.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #record(event: FakeClientEvent): void {
    this.received.push(event);
    this.#waiters.changed();
  }

  #newest(): FakeConnection {
    let newest: FakeConnection | undefined;
    for (const connection of this.#connections) newest = connection;
    if (newest === undefined) throw new Error("fake OpenAI: no client is connected");
    return newest;
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    this.handshakes.push({ path: url.pathname + url.search, headers: req.headers });
    if (url.pathname !== REALTIME_PATH) {
      rejectUpgrade(socket, 404, "Not Found", `No route for ${url.pathname}`, "not_found");
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.#apiKey}`) {
      rejectUpgrade(socket, 401, "Unauthorized", "Incorrect API key provided.", "invalid_api_key");
      return;
    }
    const model = url.searchParams.get("model");
    if (model === null || model === "") {
      rejectUpgrade(socket, 400, "Bad Request", "Missing required parameter: 'model'.", "missing_required_parameter");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new FakeConnection(ws, this.#state, model);
      this.#connections.add(connection);
      ws.on("close", () => this.#connections.delete(connection));
    });
  }
}

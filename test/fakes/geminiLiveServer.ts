/**
 * A loopback stand-in for the Gemini Live API that the official `@google/genai` client connects to:
 * the SDK's WebSocket path with `?key=`, `setup` → `setupComplete`, PCM16 16 kHz in, a crude VAD,
 * scripted replies as PCM16 24 kHz with transcripts, function calls, goAway and session resumption
 * handles, and recordings (client messages, setups, input audio, tool responses) for tests.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { FunctionResponse, LiveClientMessage, LiveClientSetup } from "@google/genai";
import { initResamplers } from "../../media/resample/index.js";
import { toneReply } from "./openaiRealtimeServer.js";
import { CLOSE_INTERNAL_ERROR, FakeLiveSocket, type FakeLiveState } from "./geminiLive/fakeLiveSocket.js";
import type { FakeLiveReplyScript } from "./geminiLive/liveReply.js";
import { DEFAULT_PCM_VAD, type PcmVadOptions } from "./geminiLive/pcmEnergyVad.js";
import { DEFAULT_CALLER_TEXT, listenOnLoopback } from "./loopback.js";
import { rejectUpgradeWithJson } from "./upgradeRejection.js";
import { WAIT_TIMEOUT_MS, Waiters } from "./waiters.js";

export type { FakeLiveReplyScript } from "./geminiLive/liveReply.js";
export { mulawToLivePcm } from "./geminiLive/liveReply.js";
export { DEFAULT_CALLER_TEXT } from "./loopback.js";

export const FAKE_GEMINI_API_KEY = "fake-gemini-test-key";
export const LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent";
export const DEFAULT_REPLY_TEXT = "Hello, this is the fake Gemini voice.";

export interface FakeGeminiLiveOptions {
  /** The key the client must pass as `?key=`; any other key gets the service's close (1007). */
  readonly apiKey?: string;
  /** Replies in turn (the first answers the greeting turn), cycling. Default: a 1.5 s tone. */
  readonly replies?: readonly FakeLiveReplyScript[];
  /** Caller transcripts, one per detected caller utterance, cycling. */
  readonly callerTexts?: readonly string[];
  /** `realtime` (default) sends one chunk per `chunkMs` of wall time; `burst` sends a reply at once. */
  readonly audioPacing?: "realtime" | "burst";
  /** Audio per `modelTurn` message. Default 100 ms. */
  readonly chunkMs?: number;
  /** Never send `setupComplete`, like a stalled service. */
  readonly withholdSetupComplete?: boolean;
  /** Issue a resumption handle right after `setupComplete` too (default true); always after each turn. */
  readonly handleOnSetup?: boolean;
  /** Send `interrupted` without the `turnComplete` that normally follows it. */
  readonly omitTurnCompleteOnInterrupt?: boolean;
  readonly vad?: Partial<PcmVadOptions>;
}

export interface FakeLiveHandshake {
  /** Path and query as the client sent them (a host-only base URL yields `//ws/…`). */
  readonly path: string;
  readonly key: string | null;
}

function rejectUpgrade(socket: Duplex, status: number, statusText: string, message: string): void {
  rejectUpgradeWithJson(socket, status, statusText, { error: { code: status, message, status: statusText.toUpperCase().replace(/ /g, "_") } });
}

export class FakeGeminiLiveServer {
  /** Every client message, in arrival order, across connections. */
  readonly received: LiveClientMessage[] = [];
  /** Every `setup`, one per connection (a resumed one carries `sessionResumption.handle`). */
  readonly setups: LiveClientSetup[] = [];
  readonly handshakes: FakeLiveHandshake[] = [];
  /** Resumption handles issued, oldest first. */
  readonly handlesIssued: string[] = [];
  readonly toolResponses: FunctionResponse[] = [];
  /** One per complete client turn (a reply the client asked for): its text, or null for a bare `turnComplete`. */
  readonly replyRequests: (string | null)[] = [];
  /** Connections ever accepted (open or not). */
  connectionsOpened = 0;

  readonly #http: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #apiKey: string;
  readonly #options: FakeGeminiLiveOptions;
  readonly #sockets = new Set<FakeLiveSocket>();
  readonly #audio: Buffer[] = [];
  readonly #waiters = new Waiters("fake Gemini");
  /** Scripts advance across connections: a resumed session goes on with the next reply. */
  #replyCount = 0;
  #callerCount = 0;
  #port = 0;

  static async start(options: FakeGeminiLiveOptions = {}): Promise<FakeGeminiLiveServer> {
    // Replies are converted to 24 kHz with the speex resampler.
    await initResamplers();
    const server = new FakeGeminiLiveServer(options);
    server.#port = await listenOnLoopback(server.#http);
    return server;
  }

  private constructor(options: FakeGeminiLiveOptions) {
    this.#options = options;
    this.#apiKey = options.apiKey ?? FAKE_GEMINI_API_KEY;
    this.#http = createServer((_req, res) => res.writeHead(404).end());
    this.#http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
  }

  /** Base URL for `GEMINI_BASE_URL` / the provider's `baseUrl` (host only, as for the real service). */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Connections open right now. */
  get connectionCount(): number {
    let open = 0;
    for (const socket of this.#sockets) if (socket.isOpen) open++;
    return open;
  }

  /** All caller audio received (PCM16 LE 16 kHz, from every `realtimeInput.audio`), concatenated. */
  inputAudio(): Buffer {
    return Buffer.concat(this.#audio);
  }

  /** Cuts every client socket without a close frame, like a network failure. */
  dropConnection(): void {
    for (const socket of this.#sockets) socket.terminate();
  }

  /** `goAway` on the newest connection, closing it once `timeLeftMs` has passed. */
  sendGoAway(timeLeftMs = 5_000): void {
    this.#newest().goAway(timeLeftMs);
  }

  /** Live has no error event: the service closes the socket with a code and reason (1011 for its own failures). */
  closeWithError(reason: string, code = CLOSE_INTERNAL_ERROR): void {
    this.#newest().closeWithError(code, reason);
  }

  /** The model calls a function on the newest connection; returns its call id. */
  requestToolCall(name: string, args: Record<string, unknown> = {}): string {
    return this.#newest().requestToolCall(name, args);
  }

  waitForToolResponse(id: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<FunctionResponse> {
    return this.#waiters.waitFor(() => this.toolResponses.find((r) => r.id === id), `tool response ${id}`, timeoutMs);
  }

  /** Resolves with the `nth` client message that has `kind` (counting ones already received). */
  waitForMessage<K extends keyof LiveClientMessage>(kind: K, nth = 1, timeoutMs = WAIT_TIMEOUT_MS): Promise<NonNullable<LiveClientMessage[K]>> {
    return this.#waiters.waitFor(
      () => this.received.filter((m) => m[kind] !== undefined)[nth - 1]?.[kind] ?? undefined,
      `${kind} #${nth}`,
      timeoutMs,
    );
  }

  /** Resolves once `bytes` of caller audio have arrived. */
  waitForInputAudio(bytes: number, timeoutMs = WAIT_TIMEOUT_MS): Promise<Buffer> {
    return this.#waiters.waitFor(() => (this.#audioBytes() >= bytes ? this.inputAudio() : undefined), `${bytes} bytes of input audio`, timeoutMs);
  }

  async close(): Promise<void> {
    this.dropConnection();
    this.#waiters.changed();
    this.#waiters.abandonAll("closed");
    this.#wss.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #audioBytes(): number {
    let total = 0;
    for (const chunk of this.#audio) total += chunk.length;
    return total;
  }

  #newest(): FakeLiveSocket {
    let newest: FakeLiveSocket | undefined;
    for (const socket of this.#sockets) if (socket.isOpen) newest = socket;
    if (newest === undefined) throw new Error("fake Gemini: no client is connected");
    return newest;
  }

  #state(keyValid: boolean): FakeLiveState {
    const options = this.#options;
    const replies = options.replies !== undefined && options.replies.length > 0 ? options.replies : [toneReply(DEFAULT_REPLY_TEXT)];
    const callerTexts = options.callerTexts !== undefined && options.callerTexts.length > 0 ? options.callerTexts : [DEFAULT_CALLER_TEXT];
    return {
      vad: { ...DEFAULT_PCM_VAD, ...options.vad },
      pacing: { chunkMs: options.chunkMs ?? 100, realtime: options.audioPacing !== "burst" },
      withholdSetupComplete: options.withholdSetupComplete === true,
      keyValid,
      handleOnSetup: options.handleOnSetup !== false,
      omitTurnCompleteOnInterrupt: options.omitTurnCompleteOnInterrupt === true,
      record: (message) => {
        this.received.push(message);
        if (message.setup !== undefined) this.setups.push(message.setup);
        this.#waiters.changed();
      },
      recordAudio: (pcm) => {
        this.#audio.push(pcm);
        this.#waiters.changed();
      },
      recordToolResponse: (response) => {
        this.toolResponses.push(response);
        this.#waiters.changed();
      },
      recordReplyRequest: (instructions) => {
        this.replyRequests.push(instructions);
        this.#waiters.changed();
      },
      nextReply: () => replies[this.#replyCount++ % replies.length]!,
      nextCallerText: () => callerTexts[this.#callerCount++ % callerTexts.length]!,
      issueHandle: () => {
        const handle = `fake-resume-handle-${this.handlesIssued.length + 1}`;
        this.handlesIssued.push(handle);
        return handle;
      },
      knowsHandle: (handle) => this.handlesIssued.includes(handle),
    };
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const raw = req.url ?? "/";
    const url = new URL(raw.replace(/^\/+/, "/"), "http://127.0.0.1");
    const key = url.searchParams.get("key");
    this.handshakes.push({ path: raw, key });
    if (url.pathname !== LIVE_PATH) {
      rejectUpgrade(socket, 404, "Not Found", `No route for ${url.pathname}`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.connectionsOpened += 1;
      const live = new FakeLiveSocket(ws, this.#state(key === this.#apiKey));
      this.#sockets.add(live);
      ws.on("close", () => {
        this.#sockets.delete(live);
        this.#waiters.changed();
      });
    });
  }
}

/** OpenAI Realtime provider: opens one SDK socket per call and hands back a live session. */
import type { IncomingMessage } from "node:http";
import { connect as netConnect } from "node:net";
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { ClientOptions, WebSocket } from "ws";
import {
  ProviderError,
  type ProviderSessionConfig,
  type RealtimeProvider,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { OpenAIRealtimeSession } from "./session.js";

export interface OpenAIRealtimeOptions {
  readonly apiKey: string;
  /** `https://api.openai.com/v1`, or `http://127.0.0.1:PORT/v1` for a plain-ws loopback fake. */
  readonly baseURL: string;
  readonly model: string;
  readonly connectTimeoutMs?: number;
}

export const OPENAI_DEFAULT_MODEL = "gpt-realtime";

/** The socket usually opens in well under a second; past this the caller is already waiting on silence. */
export const OPENAI_CONNECT_TIMEOUT_MS = 5_000;

/** The SDK always dials wss; for an `http://` base we hand it a plain TCP socket so it speaks ws. */
function plainSocketOptions(baseURL: string): ClientOptions {
  const url = new URL(baseURL);
  if (url.protocol !== "http:") return {};
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? 80 : Number(url.port);
  return { createConnection: () => netConnect({ host, port }) };
}

function upgradeRejected(status: number): ProviderError {
  if (status === 401 || status === 403) {
    return new ProviderError("provider_auth_failed", `OpenAI rejected the API key (HTTP ${status})`, false);
  }
  return new ProviderError("provider_connect_failed", `OpenAI refused the WebSocket upgrade (HTTP ${status})`, false);
}

/** Resolves when the socket is open; otherwise rejects with a ProviderError and tears the socket down. */
function waitForOpen(socket: WebSocket, timeoutMs: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error: ProviderError | null): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.off("open", onOpen).off("unexpected-response", onRejected).off("error", onError).off("close", onClose);
      if (error === null) {
        resolve();
        return;
      }
      socket.terminate();
      reject(error);
    };
    const onOpen = (): void => settle(null);
    const onRejected = (_req: unknown, res: IncomingMessage): void => {
      res.resume();
      settle(upgradeRejected(res.statusCode ?? 0));
    };
    const onError = (cause: Error): void =>
      settle(new ProviderError("provider_connect_failed", `OpenAI connect failed: ${cause.message}`, false, { cause }));
    const onClose = (code: number): void =>
      settle(new ProviderError("provider_connect_failed", `OpenAI socket closed while opening (code ${code})`, false));
    const onAbort = (): void =>
      settle(new ProviderError("provider_connect_failed", "OpenAI connect aborted", false, { cause: signal.reason }));
    const timer = setTimeout(
      () => settle(new ProviderError("provider_connect_timeout", `OpenAI did not open within ${timeoutMs} ms`, false)),
      timeoutMs,
    );
    socket.on("open", onOpen).on("unexpected-response", onRejected).on("error", onError).on("close", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export class OpenAIRealtimeProvider implements RealtimeProvider {
  readonly name = "openai";
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #connectTimeoutMs: number;
  readonly #socketOptions: ClientOptions;

  constructor(options: OpenAIRealtimeOptions) {
    this.#client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0 });
    this.#model = options.model === "" ? OPENAI_DEFAULT_MODEL : options.model;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? OPENAI_CONNECT_TIMEOUT_MS;
    this.#socketOptions = plainSocketOptions(options.baseURL);
  }

  async connect(
    config: ProviderSessionConfig,
    handlers: RealtimeSessionHandlers,
    signal: AbortSignal,
  ): Promise<RealtimeSession> {
    if (signal.aborted) {
      throw new ProviderError("provider_connect_failed", "OpenAI connect aborted", false, { cause: signal.reason });
    }
    let rt: OpenAIRealtimeWS;
    try {
      rt = new OpenAIRealtimeWS({ model: this.#model, options: this.#socketOptions }, this.#client);
    } catch (cause) {
      throw new ProviderError("provider_connect_failed", "OpenAI socket could not be created", false, { cause });
    }
    // The session subscribes before anything can arrive, so no SDK error is ever unhandled.
    const session = new OpenAIRealtimeSession(rt, config, handlers);
    await waitForOpen(rt.socket, this.#connectTimeoutMs, signal);
    session.begin();
    return session;
  }
}

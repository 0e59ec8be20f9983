/**
 * Opening a GA Realtime socket with the official SDK's `OpenAIRealtimeWS`, for every vendor that speaks
 * the OpenAI Realtime protocol (OpenAI itself, xAI): Bearer auth, `/realtime?model=`, typed failures.
 */
import type { IncomingMessage } from "node:http";
import { connect as netConnect } from "node:net";
import OpenAI from "openai";
import { OpenAIRealtimeWS } from "openai/realtime/ws";
import type { ClientOptions, WebSocket } from "ws";
import { ProviderError } from "../types.js";

export interface RealtimeEndpointOptions {
  /** Names the vendor in error messages, e.g. `OpenAI`, `xAI`. */
  readonly vendor: string;
  readonly apiKey: string;
  /** `https://…/v1`, or `http://127.0.0.1:PORT/v1` for a plain-ws loopback fake. */
  readonly baseURL: string;
  readonly model: string;
  readonly connectTimeoutMs: number;
}

/** A session the endpoint builds around a fresh socket; `begin()` runs once the socket is open. */
export interface PendingRealtimeSession {
  begin(): void;
}

/** The SDK always dials wss; for an `http://` base we hand it a plain TCP socket so it speaks ws. */
export function plainSocketOptions(baseURL: string): ClientOptions {
  const url = new URL(baseURL);
  if (url.protocol !== "http:") return {};
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === "" ? 80 : Number(url.port);
  return { createConnection: () => netConnect({ host, port }) };
}

function upgradeRejected(vendor: string, status: number): ProviderError {
  if (status === 401 || status === 403) {
    return new ProviderError("provider_auth_failed", `${vendor} rejected the API key (HTTP ${status})`, false);
  }
  return new ProviderError("provider_connect_failed", `${vendor} refused the WebSocket upgrade (HTTP ${status})`, false);
}

/** Resolves when the socket is open; otherwise rejects with a ProviderError and tears the socket down. */
function waitForOpen(socket: WebSocket, vendor: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
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
      settle(upgradeRejected(vendor, res.statusCode ?? 0));
    };
    const onError = (cause: Error): void =>
      settle(new ProviderError("provider_connect_failed", `${vendor} connect failed: ${cause.message}`, false, { cause }));
    const onClose = (code: number): void =>
      settle(new ProviderError("provider_connect_failed", `${vendor} socket closed while opening (code ${code})`, false));
    const onAbort = (): void =>
      settle(new ProviderError("provider_connect_failed", `${vendor} connect aborted`, false, { cause: signal.reason }));
    const timer = setTimeout(
      () => settle(new ProviderError("provider_connect_timeout", `${vendor} did not open within ${timeoutMs} ms`, false)),
      timeoutMs,
    );
    socket.on("open", onOpen).on("unexpected-response", onRejected).on("error", onError).on("close", onClose);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** One vendor's Realtime endpoint, configured once per provider; `open()` per call. */
export class RealtimeEndpoint {
  readonly #vendor: string;
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #connectTimeoutMs: number;
  readonly #socketOptions: ClientOptions;

  constructor(options: RealtimeEndpointOptions) {
    this.#vendor = options.vendor;
    this.#client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0 });
    this.#model = options.model;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#socketOptions = plainSocketOptions(options.baseURL);
  }

  /**
   * Dials, lets `attach` subscribe to the socket before anything can arrive (so no SDK error is ever
   * unhandled), waits for the upgrade, then starts the session.
   */
  async open<S extends PendingRealtimeSession>(signal: AbortSignal, attach: (rt: OpenAIRealtimeWS) => S): Promise<S> {
    if (signal.aborted) {
      throw new ProviderError("provider_connect_failed", `${this.#vendor} connect aborted`, false, { cause: signal.reason });
    }
    let rt: OpenAIRealtimeWS;
    try {
      rt = new OpenAIRealtimeWS({ model: this.#model, options: this.#socketOptions }, this.#client);
    } catch (cause) {
      throw new ProviderError("provider_connect_failed", `${this.#vendor} socket could not be created`, false, { cause });
    }
    let session: S;
    try {
      session = attach(rt);
    } catch (cause) {
      rt.socket.terminate();
      throw new ProviderError("provider_connect_failed", `${this.#vendor} session could not be set up`, false, { cause });
    }
    await waitForOpen(rt.socket, this.#vendor, this.#connectTimeoutMs, signal);
    try {
      session.begin();
    } catch (cause) {
      // Building the configuration failed (e.g. a malformed stored setting): don't leave the socket open.
      rt.socket.terminate();
      throw new ProviderError("provider_connect_failed", `${this.#vendor} session could not be configured`, false, { cause });
    }
    return session;
  }
}

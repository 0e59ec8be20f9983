/**
 * One Live API socket, opened through the official SDK with a deadline and an abort, then a pipe of
 * typed server messages and one close to whoever listens.
 */
import type {
  GoogleGenAI,
  LiveConnectConfig,
  LiveSendClientContentParameters,
  LiveSendToolResponseParameters,
  LiveServerMessage,
  Session,
} from "@google/genai";
import { ProviderError } from "../types.js";
import { isAuthClose } from "./wire.js";

export interface LiveListener {
  onLiveMessage(message: LiveServerMessage, from: LiveConnection): void;
  /** The socket closed after it was open (a close while opening rejects `open` instead). */
  onLiveClose(code: number, reason: string, from: LiveConnection): void;
}

export interface LiveConnectRequest {
  readonly client: GoogleGenAI;
  readonly model: string;
  readonly config: LiveConnectConfig;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

type ConnectionState = "opening" | "open" | "closed";

/** The SDK's socket wrapper, as its (untyped) factory returns it; only `close` is used. */
interface SdkSocket {
  close(): void;
}

interface SdkSocketFactory {
  create(url: string, headers: Record<string, string>, callbacks: unknown): SdkSocket;
}

/**
 * The SDK hands out its socket only once setup completes. A per-connection view of `client.live` whose
 * socket factory reports the socket as it is made, so an open we give up on (deadline, abort) can be closed.
 */
function liveReportingSocket(client: GoogleGenAI, onSocket: (socket: SdkSocket) => void): GoogleGenAI["live"] {
  const factory = (client.live as unknown as { webSocketFactory: SdkSocketFactory }).webSocketFactory;
  const live = Object.create(client.live) as GoogleGenAI["live"];
  const reporting: SdkSocketFactory = {
    create: (url, headers, callbacks) => {
      const socket = factory.create(url, headers, callbacks);
      onSocket(socket);
      return socket;
    },
  };
  // Shadows the shared client's factory for this connection only (the field is private in the SDK's types).
  (live as unknown as { webSocketFactory: SdkSocketFactory }).webSocketFactory = reporting;
  return live;
}

/** What the SDK hands its callbacks (ws's event objects); only these fields are read. */
interface CloseLike {
  readonly code?: number;
  readonly reason?: string;
}
interface ErrorLike {
  readonly message?: string;
  readonly error?: unknown;
}

/** ws reports a refused upgrade as "Unexpected server response: 401". */
const UPGRADE_STATUS = /Unexpected server response: (\d{3})/;

function openFailure(code: number, reason: string, transportError: string | null): ProviderError {
  const status = Number(UPGRADE_STATUS.exec(transportError ?? "")?.[1] ?? 0);
  if (status === 401 || status === 403) {
    return new ProviderError("provider_auth_failed", `Gemini rejected the API key (HTTP ${status})`, false);
  }
  if (isAuthClose(code, reason)) {
    return new ProviderError("provider_auth_failed", `Gemini rejected the API key: ${reason}`, false);
  }
  const detail = transportError ?? (reason === "" ? `socket closed with code ${code}` : `socket closed with code ${code}: ${reason}`);
  return new ProviderError("provider_connect_failed", `Gemini Live connect failed: ${detail}`, false);
}

export class LiveConnection {
  readonly #listener: LiveListener;
  #state: ConnectionState = "opening";
  #sdk: Session | null = null;
  /** The last socket error before the close it causes; explains a failed open. */
  #transportError: string | null = null;
  #failOpen: ((error: ProviderError) => void) | null = null;
  /** Messages that arrived before the owner adopted this connection (the SDK flushes them on setup). */
  #early: LiveServerMessage[] | null = [];

  private constructor(listener: LiveListener) {
    this.#listener = listener;
  }

  /**
   * Resolves once the server answered `setupComplete`. The SDK's own promise never settles when the
   * socket closes first, so the close, the deadline and the abort each settle it here.
   */
  static open(request: LiveConnectRequest, listener: LiveListener): Promise<LiveConnection> {
    const connection = new LiveConnection(listener);
    return connection.#open(request).then(() => connection);
  }

  get isOpen(): boolean {
    return this.#state === "open";
  }

  /** Hot path: a prebuilt JSON frame straight onto the socket. */
  sendFrame(frame: string): void {
    if (this.#state === "open") this.#sdk!.conn.send(frame);
  }

  sendClientContent(params: LiveSendClientContentParameters): void {
    if (this.#state === "open") this.#sdk!.sendClientContent(params);
  }

  sendToolResponse(params: LiveSendToolResponseParameters): void {
    if (this.#state === "open") this.#sdk!.sendToolResponse(params);
  }

  /** Sends our close frame; the listener hears the close when the server answers it. */
  close(): void {
    if (this.#state !== "open") return;
    try {
      this.#sdk!.close();
    } catch {
      // Deliberately dropped: the socket is already gone, and its close event reports that.
    }
  }

  #open(request: LiveConnectRequest): Promise<void> {
    const { signal, timeoutMs } = request;
    if (signal.aborted) {
      this.#state = "closed";
      return Promise.reject(new ProviderError("provider_connect_failed", "Gemini connect aborted", false, { cause: signal.reason }));
    }
    return new Promise<void>((resolve, reject) => {
      const settle = (error: ProviderError | null): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#failOpen = null;
        if (error === null) {
          this.#state = "open";
          resolve();
          return;
        }
        this.#state = "closed";
        // Setup never completed, so the SDK never handed the socket over: close it ourselves.
        if (this.#sdk === null) closeQuietly(rawSocket);
        reject(error);
      };
      let rawSocket: SdkSocket | null = null;
      const onAbort = (): void =>
        settle(new ProviderError("provider_connect_failed", "Gemini connect aborted", false, { cause: signal.reason }));
      const timer = setTimeout(
        () => settle(new ProviderError("provider_connect_timeout", `Gemini Live did not complete setup within ${timeoutMs} ms`, false)),
        timeoutMs,
      );
      signal.addEventListener("abort", onAbort, { once: true });
      this.#failOpen = settle;

      const live = liveReportingSocket(request.client, (socket) => (rawSocket = socket));
      const pending = live.connect({
        model: request.model,
        config: request.config,
        callbacks: {
          onmessage: (message) => this.#onMessage(message),
          onerror: (event: ErrorLike) => this.#onError(event),
          onclose: (event: CloseLike) => this.#onClose(event.code ?? 1005, event.reason ?? ""),
        },
      });
      pending.then(
        (sdk) => {
          this.#sdk = sdk;
          // Setup finished after we gave up (deadline or abort): close what opened.
          if (this.#state === "closed") sdk.close();
          else settle(null);
        },
        (cause: unknown) => {
          if (this.#state === "opening") {
            settle(new ProviderError("provider_connect_failed", "Gemini Live connect failed", false, { cause }));
          }
        },
      );
    });
  }

  /** The owner now routes this connection's messages: hand over what came before that. */
  release(): void {
    const early = this.#early;
    this.#early = null;
    for (const message of early ?? []) this.#deliver(message);
  }

  #onMessage(message: LiveServerMessage): void {
    if (this.#state === "closed") return;
    if (this.#early !== null) this.#early.push(message);
    else this.#deliver(message);
  }

  #deliver(message: LiveServerMessage): void {
    try {
      this.#listener.onLiveMessage(message, this);
    } catch {
      // Deliberately dropped: listeners report their own failures; a throw here would escape into the SDK.
    }
  }

  #onError(event: ErrorLike): void {
    const cause = event.error instanceof Error ? event.error.message : undefined;
    this.#transportError = event.message ?? cause ?? "socket error";
  }

  #onClose(code: number, reason: string): void {
    const previous = this.#state;
    this.#state = "closed";
    if (previous === "opening") {
      this.#failOpen?.(openFailure(code, reason, this.#transportError));
      return;
    }
    if (previous !== "open") return;
    try {
      this.#listener.onLiveClose(code, reason, this);
    } catch {
      // Deliberately dropped: a throw here would escape into the socket's emitter.
    }
  }
}

function closeQuietly(socket: SdkSocket | null): void {
  try {
    socket?.close();
  } catch {
    // Deliberately dropped: a socket that never connected has nothing to close, and its events report the rest.
  }
}

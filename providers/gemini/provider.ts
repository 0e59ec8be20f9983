/** Gemini Live provider: one SDK client per process, one Live connection (resumed as needed) per call. */
import { GoogleGenAI } from "@google/genai";
import {
  ProviderError,
  type ProviderSessionConfig,
  type RealtimeProvider,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { liveModelTraits } from "./modelTraits.js";
import { GeminiLiveSession } from "./session.js";

export interface GeminiLiveOptions {
  readonly apiKey: string;
  /** `https://generativelanguage.googleapis.com`, or `http://127.0.0.1:PORT` for a plain-ws loopback fake. */
  readonly baseUrl: string;
  /** Empty or absent: `GEMINI_DEFAULT_MODEL`. */
  readonly model?: string;
  readonly connectTimeoutMs?: number;
}

/**
 * Gemini 3.8 Live: the stable (GA, September 2026) Live model Google recommends for voice agents
 * (ai.google.dev/gemini-api/docs/models/gemini-3.8-live). It takes no thinking level, so
 * `gemini_thinking_level` applies to 3.1 Flash Live; 2.5 native audio works too (see modelTraits.ts).
 */
export const GEMINI_DEFAULT_MODEL = "gemini-3.8-live";

/** Setup includes the model's own start-up, slower than a bare socket; past this the caller hears dead air. */
export const GEMINI_CONNECT_TIMEOUT_MS = 8_000;

/** The Live endpoint lives under v1beta; the SDK turns http into ws and https into wss. */
const LIVE_API_VERSION = "v1beta";

export class GeminiLiveProvider implements RealtimeProvider {
  readonly name = "gemini";
  readonly #client: GoogleGenAI;
  readonly #model: string;
  readonly #connectTimeoutMs: number;

  constructor(options: GeminiLiveOptions) {
    // vertexai pinned off: GOOGLE_GENAI_USE_VERTEXAI in the environment must not reroute calls.
    this.#client = new GoogleGenAI({
      apiKey: options.apiKey,
      vertexai: false,
      httpOptions: { baseUrl: options.baseUrl, apiVersion: LIVE_API_VERSION },
    });
    this.#model = options.model === undefined || options.model === "" ? GEMINI_DEFAULT_MODEL : options.model;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? GEMINI_CONNECT_TIMEOUT_MS;
  }

  async connect(
    config: ProviderSessionConfig,
    handlers: RealtimeSessionHandlers,
    signal: AbortSignal,
  ): Promise<RealtimeSession> {
    if (signal.aborted) {
      throw new ProviderError("provider_connect_failed", "Gemini connect aborted", false, { cause: signal.reason });
    }
    const session = new GeminiLiveSession({
      client: this.#client,
      model: this.#model,
      traits: liveModelTraits(this.#model),
      config,
      handlers,
      connectTimeoutMs: this.#connectTimeoutMs,
    });
    await session.start(signal);
    return session;
  }
}

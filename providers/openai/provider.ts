/** OpenAI Realtime provider: opens one SDK socket per call and hands back a live session. */
import { RealtimeEndpoint } from "../openaiCompatible/endpoint.js";
import type { ProviderSessionConfig, RealtimeProvider, RealtimeSession, RealtimeSessionHandlers } from "../types.js";
import { OpenAIRealtimeSession } from "./session.js";

export interface OpenAIRealtimeOptions {
  readonly apiKey: string;
  /** `https://api.openai.com/v1`, or `http://127.0.0.1:PORT/v1` for a plain-ws loopback fake. */
  readonly baseURL: string;
  /** Empty means `OPENAI_DEFAULT_MODEL`. */
  readonly model: string;
  readonly connectTimeoutMs?: number;
}

export const OPENAI_DEFAULT_MODEL = "gpt-realtime";

/** The socket usually opens in well under a second; past this the caller is already waiting on silence. */
export const OPENAI_CONNECT_TIMEOUT_MS = 5_000;

export class OpenAIRealtimeProvider implements RealtimeProvider {
  readonly name = "openai";
  readonly #endpoint: RealtimeEndpoint;

  constructor(options: OpenAIRealtimeOptions) {
    this.#endpoint = new RealtimeEndpoint({
      vendor: "OpenAI",
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      model: options.model === "" ? OPENAI_DEFAULT_MODEL : options.model,
      connectTimeoutMs: options.connectTimeoutMs ?? OPENAI_CONNECT_TIMEOUT_MS,
    });
  }

  connect(config: ProviderSessionConfig, handlers: RealtimeSessionHandlers, signal: AbortSignal): Promise<RealtimeSession> {
    return this.#endpoint.open(signal, (rt) => new OpenAIRealtimeSession(rt, config, handlers));
  }
}

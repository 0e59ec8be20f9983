/** xAI Grok voice provider: the OpenAI SDK's Realtime socket pointed at xAI, one per call. */
import { RealtimeEndpoint } from "../openaiCompatible/endpoint.js";
import type { ProviderSessionConfig, RealtimeProvider, RealtimeSession, RealtimeSessionHandlers } from "../types.js";
import { XaiRealtimeSession } from "./session.js";

export interface XaiRealtimeOptions {
  readonly apiKey: string;
  /** `https://api.x.ai/v1`, or `http://127.0.0.1:PORT/v1` for a plain-ws loopback fake. */
  readonly baseURL: string;
  /** Absent or empty means `XAI_DEFAULT_MODEL`. */
  readonly model?: string;
  readonly connectTimeoutMs?: number;
}

/**
 * xAI's pinned voice model (its docs' `grok-voice-latest` alias points here today; LiteLLM and Mastra list
 * it as the recommended realtime model). Pinned so a model change is a config change, not a surprise.
 */
export const XAI_DEFAULT_MODEL = "grok-voice-think-fast-1.0";

/** As for OpenAI: past this the caller has been listening to silence for too long. */
export const XAI_CONNECT_TIMEOUT_MS = 5_000;

export class XaiRealtimeProvider implements RealtimeProvider {
  readonly name = "xai";
  readonly #endpoint: RealtimeEndpoint;

  constructor(options: XaiRealtimeOptions) {
    this.#endpoint = new RealtimeEndpoint({
      vendor: "xAI",
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      model: options.model === undefined || options.model === "" ? XAI_DEFAULT_MODEL : options.model,
      connectTimeoutMs: options.connectTimeoutMs ?? XAI_CONNECT_TIMEOUT_MS,
    });
  }

  connect(config: ProviderSessionConfig, handlers: RealtimeSessionHandlers, signal: AbortSignal): Promise<RealtimeSession> {
    return this.#endpoint.open(signal, (rt) => new XaiRealtimeSession(rt, config, handlers));
  }
}

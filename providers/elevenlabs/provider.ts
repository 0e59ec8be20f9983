/** ElevenLabs Agents provider: a signed URL from the official REST client, then one conversation socket per call. */
import { ElevenLabsClient } from "@elevenlabs/elevenlabs-js";
import { WebSocket } from "ws";
import {
  ProviderError,
  type ProviderSessionConfig,
  type RealtimeProvider,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { ConnectDeadline } from "./connectDeadline.js";
import { ElevenLabsAgentsSession } from "./session.js";
import { fetchSignedUrl } from "./signedUrl.js";
import { initiationEvent } from "./wire.js";

export interface ElevenLabsAgentsOptions {
  readonly apiKey: string;
  /** `https://api.elevenlabs.io`, or `http://127.0.0.1:PORT` for a loopback fake (its signed URL is then `ws://`). */
  readonly baseUrl: string;
  readonly connectTimeoutMs?: number;
}

/**
 * Covers the signed-URL round trip, the socket and the agent's metadata (usually well under a second
 * each); past this the caller has been listening to silence for too long.
 */
export const ELEVENLABS_CONNECT_TIMEOUT_MS = 8_000;

function missingAgentId(): ProviderError {
  return new ProviderError(
    "provider_connect_failed",
    "ElevenLabs needs the agent's elevenlabs_agent_id (the id of the agent created on ElevenLabs); it is not set",
    false,
  );
}

function openSocket(signedUrl: string): WebSocket {
  try {
    // Audio frames are base64 already: compression would cost CPU per frame for little gain.
    return new WebSocket(signedUrl, { perMessageDeflate: false });
  } catch (cause) {
    throw new ProviderError("provider_connect_failed", "ElevenLabs returned a signed URL the socket cannot open", false, { cause });
  }
}

export class ElevenLabsAgentsProvider implements RealtimeProvider {
  readonly name = "elevenlabs";
  readonly #client: ElevenLabsClient;
  readonly #connectTimeoutMs: number;

  constructor(options: ElevenLabsAgentsOptions) {
    this.#client = new ElevenLabsClient({ apiKey: options.apiKey, baseUrl: options.baseUrl, maxRetries: 0 });
    this.#connectTimeoutMs = options.connectTimeoutMs ?? ELEVENLABS_CONNECT_TIMEOUT_MS;
  }

  async connect(
    config: ProviderSessionConfig,
    handlers: RealtimeSessionHandlers,
    signal: AbortSignal,
  ): Promise<RealtimeSession> {
    const agentId = config.agent.elevenlabs_agent_id;
    if (agentId === null || agentId.trim() === "") throw missingAgentId();
    // Built first: a setting ElevenLabs would refuse fails here, before any network work.
    const initiation = initiationEvent(config);
    const deadline = new ConnectDeadline(this.#connectTimeoutMs, signal);
    try {
      if (deadline.signal.aborted) throw deadline.error();
      const signedUrl = await fetchSignedUrl(this.#client, agentId, deadline);
      if (deadline.signal.aborted) throw deadline.error();
      const session = new ElevenLabsAgentsSession(openSocket(signedUrl), handlers, { holdGreeting: config.aiSpeaksFirst });
      await session.start(initiation, deadline);
      return session;
    } finally {
      deadline.dispose();
    }
  }
}

/** Private agents are reached through a short-lived signed socket URL, fetched with the official REST client. */
import { ElevenLabsError, type ElevenLabsClient } from "@elevenlabs/elevenlabs-js";
import { ProviderError } from "../types.js";
import type { ConnectDeadline } from "./connectDeadline.js";

function rejected(error: ElevenLabsError, agentId: string): ProviderError {
  const status = error.statusCode;
  if (status === 401 || status === 403) {
    return new ProviderError("provider_auth_failed", `ElevenLabs rejected the API key (HTTP ${status}): check ELEVENLABS_API_KEY`, false, { cause: error });
  }
  if (status === 404 || status === 422) {
    return new ProviderError(
      "provider_connect_failed",
      `ElevenLabs has no agent "${agentId}" for this API key (HTTP ${status}): check elevenlabs_agent_id`,
      false,
      { cause: error },
    );
  }
  const what = status === undefined ? error.message : `HTTP ${status}`;
  return new ProviderError("provider_connect_failed", `ElevenLabs signed URL request failed (${what})`, false, { cause: error });
}

/** Resolves with the `wss://` (or loopback `ws://`) URL for one conversation with `agentId`. */
export async function fetchSignedUrl(client: ElevenLabsClient, agentId: string, deadline: ConnectDeadline): Promise<string> {
  try {
    const response = await client.conversationalAi.conversations.getSignedUrl(
      { agentId },
      { abortSignal: deadline.signal, maxRetries: 0 },
    );
    return response.signedUrl;
  } catch (cause) {
    // The SDK reports an abort as its own error; ours says whether it was the timeout or the caller.
    if (deadline.signal.aborted) throw deadline.error();
    if (cause instanceof ElevenLabsError) throw rejected(cause, agentId);
    throw new ProviderError("provider_connect_failed", "ElevenLabs signed URL request failed", false, { cause });
  }
}

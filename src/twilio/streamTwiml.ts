/** The `<Connect><Stream>` that puts a call on its agent, with a fresh session token: the voice webhook's answer, and a failed transfer's way back. */
import type { Config } from "../config.js";
import type { SessionTokens } from "../sessionToken.js";
import { agentCallSettings } from "../storage/agentSettings.js";
import type { JsonObject } from "../storage/index.js";
import { mediaStreamUrl } from "./signature.js";
import { connectStreamTwiml } from "./twiml.js";

export interface StreamTwimlDeps {
  readonly config: Pick<Config, "publicUrl">;
  /** Undefined when no session secret is set: callers check first and answer an apology instead. */
  readonly tokens: SessionTokens | undefined;
}

/** Spoken by Twilio before the stream when the agent has `enable_recording_disclosure`. */
export const RECORDING_DISCLOSURE = "This call may be recorded and transcribed.";

/**
 * The media stream of call `callId` (Twilio's `callSid`) on this tenant's `/media` URL; `sayFirst` is
 * spoken before it (the recording disclosure on a call's first answer, never on a reconnect).
 */
export function streamTwiml(deps: StreamTwimlDeps, tenantId: string, callId: string, callSid: string, sayFirst?: string): string {
  if (deps.tokens === undefined) throw new Error("no session secret: set SESSION_SECRET or TWILIO_AUTH_TOKEN");
  const token = deps.tokens.issue(tenantId, callId, callSid);
  return connectStreamTwiml(mediaStreamUrl(deps.config.publicUrl, tenantId), { token }, sayFirst);
}

/** The disclosure to speak first, when the agent asks for one. */
export function disclosureFor(agent: { readonly settings: JsonObject | null }): string | undefined {
  return agentCallSettings(agent.settings ?? {}).enable_recording_disclosure ? RECORDING_DISCLOSURE : undefined;
}

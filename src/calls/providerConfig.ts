import type { ProviderSessionConfig } from "../../providers/types.js";
import type { AgentRow, CallDirection } from "../storage/index.js";

/** Defaults from the Leadlock reference until these fields are promoted to agent columns. */
const VAD_DEFAULTS = { threshold: 0.65, silenceDurationMs: 500, prefixPaddingMs: 300 };

/** The provider-facing view of an agent for one call. */
export function providerConfigFor(agent: AgentRow, callId: string, direction: CallDirection): ProviderSessionConfig {
  const outbound = direction === "outbound";
  return {
    callId,
    instructions: agent.system_prompt,
    greeting: (outbound ? agent.greeting_outbound ?? agent.greeting : agent.greeting) ?? null,
    aiSpeaksFirst: agent.ai_speaks_first,
    voice: agent.voice_provider === "openai" ? agent.openai_voice : agent.voice,
    temperature: agent.temperature,
    vad: VAD_DEFAULTS,
    tools: [],
  };
}

/** A complete ProviderSessionConfig for adapter and session tests: reference defaults, overridable. */
import { PROVIDER_AGENT_DEFAULTS, type ProviderAgentFields } from "../../providers/agentFields.js";
import type { ProviderSessionConfig } from "../../providers/types.js";

export function testSessionConfig(
  overrides: Partial<Omit<ProviderSessionConfig, "agent">> & { agent?: Partial<ProviderAgentFields> } = {},
): ProviderSessionConfig {
  const { agent, ...rest } = overrides;
  return {
    callId: "call_test_1",
    instructions: "You are Patchbay's test receptionist.",
    greeting: "Thanks for calling Patchbay.",
    aiSpeaksFirst: true,
    voice: "alloy",
    temperature: 0.8,
    vad: { threshold: 0.6, silenceDurationMs: 600, prefixPaddingMs: 250 },
    tools: [],
    variables: { call_id: "call_test_1", direction: "inbound", caller_number: "+15550199999", agent_number: "+15550100001", agent_name: "Test" },
    ...rest,
    agent: { ...PROVIDER_AGENT_DEFAULTS, ...agent },
    agentFieldsSet: new Set(Object.keys(agent ?? {}) as (keyof ProviderAgentFields)[]),
  };
}

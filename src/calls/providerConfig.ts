import { PROVIDER_AGENT_DEFAULTS, PROVIDER_AGENT_FIELD_NAMES, type ProviderAgentFields } from "../../providers/agentFields.js";
import type { ProviderSessionConfig, ToolDefinition } from "../../providers/types.js";
import { builtinToolDefinitions } from "../../sessions/builtinTools.js";
import { AGENT_VAD_DEFAULTS } from "../../media/vad/config.js";
import { agentCallSettings, agentVadFields } from "../storage/agentSettings.js";
import type { AgentRow, CallLogRow } from "../storage/index.js";
import { agentNumberOf } from "./callControl.js";
import { callInputsFrom, contextBriefing, templateValues } from "./outboundVariables.js";
import { fillTemplate } from "./template.js";

/** The agent API's VAD defaults (Leadlock reference), under their field names. */
export const VAD_DEFAULTS = Object.freeze({
  vad_threshold: AGENT_VAD_DEFAULTS.threshold,
  vad_silence_duration_ms: AGENT_VAD_DEFAULTS.silenceDurationMs,
  vad_prefix_padding_ms: AGENT_VAD_DEFAULTS.prefixPaddingMs,
});

/** The provider fields the agent set itself (openai_voice is a column, always set). */
function agentFieldsSet(agent: AgentRow): Set<keyof ProviderAgentFields> {
  const set = new Set<keyof ProviderAgentFields>(["openai_voice"]);
  for (const name of PROVIDER_AGENT_FIELD_NAMES) if (agent.settings[name] !== undefined) set.add(name);
  return set;
}

/** The agent's provider fields: stored ones (validated by the API) over the reference defaults. */
export function providerAgentFields(agent: AgentRow): ProviderAgentFields {
  const fields: Record<string, unknown> = { ...PROVIDER_AGENT_DEFAULTS };
  for (const name of PROVIDER_AGENT_FIELD_NAMES) {
    const value = agent.settings[name];
    if (value !== undefined) fields[name] = value;
  }
  fields.openai_voice = agent.openai_voice;
  return fields as unknown as ProviderAgentFields;
}

function voiceFor(agent: AgentRow, fields: ProviderAgentFields): string {
  switch (agent.voice_provider) {
    case "openai":
      return fields.openai_voice;
    case "gemini":
      return fields.gemini_voice;
    case "elevenlabs":
      return fields.elevenlabs_voice_id ?? "";
    default:
      return agent.voice;
  }
}

/** The prompt with `{{name}}` filled, what is known about the person called, and how to use the tools. */
function instructionsFor(prompt: string, values: Record<string, string>, briefing: string | null, toolGuide: string | null): string {
  return [fillTemplate(prompt, values), briefing, toolGuide].filter((part) => part !== null).join("\n\n");
}

/** The agent's `tool_instructions` for the tools this call offers, as a prompt section. */
function toolGuideFor(instructions: Readonly<Record<string, string>> | null, tools: readonly ToolDefinition[]): string | null {
  if (instructions === null) return null;
  const lines = tools.flatMap((t) => (instructions[t.name]?.trim() ? [`- ${t.name}: ${instructions[t.name]!.trim()}`] : []));
  return lines.length === 0 ? null : `How to use your tools:\n${lines.join("\n")}`;
}

/**
 * The provider-facing view of an agent for one call; `functions` are the tenant functions attached to
 * the agent, offered after the built-in tools.
 */
export function providerConfigFor(agent: AgentRow, callLog: CallLogRow, functions: readonly ToolDefinition[] = []): ProviderSessionConfig {
  const outbound = callLog.direction === "outbound";
  const fields = providerAgentFields(agent);
  const settings = agentCallSettings(agent.settings ?? {});
  // A placed call's log carries the trigger's context and dynamic variables; the agent's defaults fill the rest.
  const inputs = callInputsFrom(callLog.metadata);
  const values = templateValues(settings.variable_definitions, inputs);
  const vad = agentVadFields(agent.settings);
  const tools = [...builtinToolDefinitions(settings.tools_enabled, settings.transfer_targets ?? []), ...functions];
  const greeting = (outbound ? agent.greeting_outbound ?? agent.greeting : agent.greeting) ?? null;
  return {
    callId: callLog.id,
    instructions: instructionsFor(agent.system_prompt, values, contextBriefing(inputs.context), toolGuideFor(settings.tool_instructions, tools)),
    greeting: greeting === null ? null : fillTemplate(greeting, values),
    aiSpeaksFirst: agent.ai_speaks_first,
    voice: voiceFor(agent, fields),
    temperature: agent.temperature,
    vad: {
      threshold: vad.vad_threshold ?? AGENT_VAD_DEFAULTS.threshold,
      silenceDurationMs: vad.vad_silence_duration_ms ?? AGENT_VAD_DEFAULTS.silenceDurationMs,
      prefixPaddingMs: vad.vad_prefix_padding_ms ?? AGENT_VAD_DEFAULTS.prefixPaddingMs,
    },
    tools,
    agent: fields,
    agentFieldsSet: agentFieldsSet(agent),
    variables: {
      // The call's own facts come last: a variable can't pretend to be the call id or the numbers.
      ...values,
      call_id: callLog.id,
      direction: callLog.direction,
      // The other party: the caller on inbound calls, the person dialled on outbound ones.
      caller_number: outbound ? callLog.to_number : callLog.from_number,
      agent_number: agentNumberOf(callLog),
      agent_name: agent.name,
    },
  };
}

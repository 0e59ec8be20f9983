import { PROVIDER_AGENT_DEFAULTS, PROVIDER_AGENT_FIELD_NAMES, type ProviderAgentFields } from "../../providers/agentFields.js";
import type { ProviderSessionConfig } from "../../providers/types.js";
import { agentCallSettings } from "../storage/agentSettings.js";
import type { AgentRow, CallLogRow, JsonObject } from "../storage/index.js";
import { callInputsFrom, contextBriefing, templateValues } from "./outboundVariables.js";
import { fillTemplate } from "./template.js";

/** Defaults from the Leadlock reference until these fields are promoted to agent columns. */
export const VAD_DEFAULTS = Object.freeze({ vad_threshold: 0.65, vad_silence_duration_ms: 500, vad_prefix_padding_ms: 300 });

function numberSetting(settings: JsonObject, name: keyof typeof VAD_DEFAULTS): number {
  const value = settings[name];
  return typeof value === "number" ? value : VAD_DEFAULTS[name];
}

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

/** The prompt with `{{name}}` filled and, on a placed call, what is known about the person called. */
function instructionsFor(prompt: string, values: Record<string, string>, briefing: string | null): string {
  const filled = fillTemplate(prompt, values);
  return briefing === null ? filled : `${filled}\n\n${briefing}`;
}

/** The provider-facing view of an agent for one call. */
export function providerConfigFor(agent: AgentRow, callLog: CallLogRow): ProviderSessionConfig {
  const outbound = callLog.direction === "outbound";
  const fields = providerAgentFields(agent);
  // A placed call's log carries the trigger's context and dynamic variables; the agent's defaults fill the rest.
  const inputs = callInputsFrom(callLog.metadata);
  const values = templateValues(agentCallSettings(agent.settings ?? {}).variable_definitions, inputs);
  const greeting = (outbound ? agent.greeting_outbound ?? agent.greeting : agent.greeting) ?? null;
  return {
    callId: callLog.id,
    instructions: instructionsFor(agent.system_prompt, values, contextBriefing(inputs.context)),
    greeting: greeting === null ? null : fillTemplate(greeting, values),
    aiSpeaksFirst: agent.ai_speaks_first,
    voice: voiceFor(agent, fields),
    temperature: agent.temperature,
    vad: {
      threshold: numberSetting(agent.settings, "vad_threshold"),
      silenceDurationMs: numberSetting(agent.settings, "vad_silence_duration_ms"),
      prefixPaddingMs: numberSetting(agent.settings, "vad_prefix_padding_ms"),
    },
    tools: [],
    agent: fields,
    agentFieldsSet: agentFieldsSet(agent),
    variables: {
      // The call's own facts come last: a variable can't pretend to be the call id or the numbers.
      ...values,
      call_id: callLog.id,
      direction: callLog.direction,
      // The other party: the caller on inbound calls, the person dialled on outbound ones.
      caller_number: outbound ? callLog.to_number : callLog.from_number,
      agent_number: outbound ? callLog.from_number : callLog.to_number,
      agent_name: agent.name,
    },
  };
}

/** Rules on an agent that JSON Schema can't say, checked on the whole agent (a PATCH: stored fields merged with the body). */
import { XAI_VOICES } from "../../providers/agentFields.js";
import { IDENTIFIER_PATTERN } from "./agentFieldsSchema.js";
import { HttpError, type ValidationDetail } from "./errors.js";
import { publicHttpsUrlProblem } from "./publicUrl.js";

/** The agent as it will be stored, under its API field names. */
export type AgentFields = Readonly<Record<string, unknown>>;

type Rule = (agent: AgentFields) => ValidationDetail | undefined;

const TOOL_NAME = new RegExp(IDENTIFIER_PATTERN);

const issue = (field: string | (string | number)[], msg: string, type = "value_error"): ValidationDetail => ({
  loc: ["body", ...(Array.isArray(field) ? field : [field])],
  msg,
  type,
});

function isTimeZone(name: string): boolean {
  try {
    // Intl accepts every IANA name and alias it knows and throws RangeError otherwise.
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The first name given twice in a list of named items, with its index. */
function duplicateName(items: unknown): [number, string] | undefined {
  if (!Array.isArray(items)) return undefined;
  const seen = new Set<string>();
  for (const [i, item] of (items as { name: string }[]).entries()) {
    if (seen.has(item.name)) return [i, item.name];
    seen.add(item.name);
  }
  return undefined;
}

const RULES: readonly Rule[] = [
  // xAI rejects an unknown voice at session setup, which would fail every call: catch it here.
  (a) =>
    a.voice_provider === "xai" && typeof a.voice === "string" && !(XAI_VOICES as readonly string[]).includes(a.voice)
      ? issue("voice", `must be one of the xAI voices: ${XAI_VOICES.join(", ")}`, "enum")
      : undefined,
  (a) =>
    a.voice_provider === "elevenlabs" && (a.elevenlabs_agent_id === undefined || a.elevenlabs_agent_id === null)
      ? issue("elevenlabs_agent_id", "required when voice_provider is elevenlabs (the ElevenLabs agent to talk through)", "missing")
      : undefined,
  // Offsets and abbreviations would pass a regex; only an IANA name means the same thing everywhere.
  (a) => (typeof a.timezone === "string" && !isTimeZone(a.timezone) ? issue("timezone", "must be an IANA time zone, e.g. America/New_York") : undefined),
  (a) => {
    const url = a.amd_voicemail_audio_url;
    const problem = typeof url === "string" ? publicHttpsUrlProblem(url) : null;
    return problem === null ? undefined : issue("amd_voicemail_audio_url", problem, "url");
  },
  (a) =>
    a.amd_voicemail_behavior === "static_message" && !a.amd_voicemail_message && !a.amd_voicemail_audio_url
      ? issue("amd_voicemail_message", "static_message needs amd_voicemail_message or amd_voicemail_audio_url", "missing")
      : undefined,
  (a) =>
    a.amd_voicemail_behavior === "dynamic_message" && !a.amd_voicemail_message
      ? issue("amd_voicemail_message", "dynamic_message needs amd_voicemail_message (a template with {{variables}})", "missing")
      : undefined,
  (a) => {
    const instructions = a.tool_instructions;
    if (typeof instructions !== "object" || instructions === null) return undefined;
    const bad = Object.keys(instructions).find((name) => !TOOL_NAME.test(name));
    return bad === undefined ? undefined : issue(["tool_instructions", bad], "must be keyed by tool name (letters, digits, _)", "pattern");
  },
  // The model picks a transfer target, and a template a variable, by name: a name must mean one thing.
  (a) => {
    const dup = duplicateName(a.transfer_targets);
    return dup && issue(["transfer_targets", dup[0], "name"], `"${dup[1]}" is already used by another target`, "unique");
  },
  (a) => {
    const dup = duplicateName(a.variable_definitions);
    return dup && issue(["variable_definitions", dup[0], "name"], `"${dup[1]}" is already defined`, "unique");
  },
];

/** 422 listing every rule the agent breaks. */
export function checkAgentRules(agent: AgentFields): void {
  const detail = RULES.map((rule) => rule(agent)).filter((d): d is ValidationDetail => d !== undefined);
  if (detail.length === 0) return;
  throw new HttpError(422, "validation_error", detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; "), detail);
}

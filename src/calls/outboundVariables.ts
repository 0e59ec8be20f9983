/**
 * What a placed call knows about the person it calls: the contact `context` and `dynamic_variables`
 * given at the trigger, and the agent's variable definitions. Pure: the outbound API checks them, the
 * call log keeps them, and the provider config fills prompts from them.
 */
import type { VariableDefinition } from "../storage/agentSettings.js";
import type { JsonObject, JsonValue } from "../storage/index.js";

/** The reference's WebhookCallContext. */
export interface CallContext {
  first_name?: string | null;
  last_name?: string | null;
  email?: string | null;
  company?: string | null;
  source?: string | null;
  notes?: string | null;
  custom_fields?: Record<string, JsonValue> | null;
}

export const CONTEXT_FIELDS = ["first_name", "last_name", "email", "company", "source", "notes"] as const;

const CONTEXT_LABELS: Record<(typeof CONTEXT_FIELDS)[number], string> = {
  first_name: "First name",
  last_name: "Last name",
  email: "Email",
  company: "Company",
  source: "Lead source",
  notes: "Notes",
};

/** What a placed call carries, as stored in its log's metadata. */
export interface CallInputs {
  context: CallContext;
  dynamicVariables: Record<string, string>;
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function scalarText(value: JsonValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Reads the inputs back from a call log's metadata; anything malformed is skipped, never thrown. */
export function callInputsFrom(metadata: JsonObject | undefined): CallInputs {
  const context: CallContext = {};
  const dynamicVariables: Record<string, string> = {};
  const rawContext = metadata?.context;
  if (isObject(rawContext)) {
    for (const field of CONTEXT_FIELDS) {
      const text = scalarText(rawContext[field]);
      if (text !== undefined) context[field] = text;
    }
    if (isObject(rawContext.custom_fields)) context.custom_fields = rawContext.custom_fields;
  }
  const rawVariables = metadata?.dynamic_variables;
  if (isObject(rawVariables)) {
    for (const [name, value] of Object.entries(rawVariables)) {
      const text = scalarText(value);
      if (text !== undefined) dynamicVariables[name] = text;
    }
  }
  return { context, dynamicVariables };
}

/** The contact's fields as template values (`{{first_name}}`, custom fields by their own names). */
function contextValues(context: CallContext): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.custom_fields ?? {})) {
    const text = scalarText(value);
    if (text !== undefined && text !== "") values[name] = text;
  }
  for (const field of CONTEXT_FIELDS) {
    const value = context[field];
    if (typeof value === "string" && value !== "") values[field] = value;
  }
  return values;
}

/** Values for `{{name}}`: the agent's defaults, then the contact's fields, then the caller-given variables. */
export function templateValues(definitions: readonly VariableDefinition[] | null, inputs: CallInputs): Record<string, string> {
  const values: Record<string, string> = {};
  for (const def of definitions ?? []) if (def.default_value !== null && def.default_value !== undefined) values[def.name] = def.default_value;
  return { ...values, ...contextValues(inputs.context), ...inputs.dynamicVariables };
}

/** The required variables a call has no value for (an empty string is no value). */
export function missingRequired(definitions: readonly VariableDefinition[] | null, inputs: CallInputs): string[] {
  const given = { ...contextValues(inputs.context), ...inputs.dynamicVariables };
  return (definitions ?? []).filter((def) => def.required && !given[def.name]).map((def) => def.name);
}

/** A few lines for the agent's instructions about who it is calling; null when nothing is known. */
export function contextBriefing(context: CallContext): string | null {
  const lines: string[] = [];
  for (const field of CONTEXT_FIELDS) {
    const value = context[field];
    if (typeof value === "string" && value.trim() !== "") lines.push(`- ${CONTEXT_LABELS[field]}: ${value.trim()}`);
  }
  for (const [name, value] of Object.entries(context.custom_fields ?? {})) {
    const text = scalarText(value) ?? (value === null ? undefined : JSON.stringify(value));
    if (text !== undefined && text.trim() !== "") lines.push(`- ${name}: ${text.trim()}`);
  }
  if (lines.length === 0) return null;
  return ["About the person you are calling (from the business's records):", ...lines].join("\n");
}

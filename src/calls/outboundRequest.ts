/**
 * The two bodies `POST /outbound/trigger` accepts, turned into one request: the direct one
 * `{agent_id, to_number, from_phone_number_id?, context?, dynamic_variables?}` and the CRM one
 * (GoHighLevel workflow webhooks) that nests the call's fields in `customData` beside the contact.
 */
import type { JsonValue } from "../storage/index.js";
import { invalidField } from "./outboundErrors.js";
import { CONTEXT_FIELDS, type CallContext } from "./outboundVariables.js";

export const E164 = /^\+[1-9]\d{1,14}$/;

export interface OutboundRequest {
  agentId: string;
  toNumber: string;
  fromPhoneNumberId: string | null;
  context: CallContext;
  dynamicVariables: Record<string, string>;
}

export interface DirectBody {
  agent_id?: string;
  to_number?: string;
  from_phone_number_id?: string | null;
  context?: CallContext | null;
  dynamic_variables?: Record<string, string> | null;
  customData?: Record<string, JsonValue>;
  [key: string]: unknown;
}

type Loc = (string | number)[];

function requireText(value: unknown, loc: Loc): string {
  if (typeof value !== "string" || value.trim() === "") throw invalidField(loc, "field required", "missing");
  return value.trim();
}

/** A bad number is the caller's mistake: 422 naming the field, before anything is stored. */
export function checkE164(value: string, loc: Loc): string {
  if (!E164.test(value)) throw invalidField(loc, `must be an E.164 phone number like +14155551234 (got "${value}")`, "value_error.phone");
  return value;
}

/** The direct body (also what `/outbound/agents/:agentId/call` carries, with the agent in the path). */
export function directRequest(body: DirectBody, agentId?: string): OutboundRequest {
  return {
    agentId: agentId ?? requireText(body.agent_id, ["body", "agent_id"]),
    toNumber: checkE164(requireText(body.to_number, ["body", "to_number"]), ["body", "to_number"]),
    fromPhoneNumberId: body.from_phone_number_id ?? null,
    context: body.context ?? {},
    dynamicVariables: body.dynamic_variables ?? {},
  };
}

// customData keys that steer the call rather than describe the contact.
const CONTROL_KEYS = new Set(["agent_id", "to_number", "phone", "from_phone_number_id", "context", "dynamic_variables", "ghl_contact_id"]);

function text(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** CRMs format phone numbers for people ("+1 (415) 555-1234"): keep the digits and the plus. */
function crmPhone(value: string): string {
  return value.replace(/[\s().-]/g, "");
}

/**
 * The CRM body: `customData` carries agent_id and to_number (or `phone`; else the contact's top-level
 * `phone`), optional from_phone_number_id, contact fields, and any other keys, which become both
 * custom fields the agent is told and dynamic variables for `{{name}}`.
 */
export function crmRequest(body: DirectBody): OutboundRequest {
  const data = asObject(body.customData);
  const toRaw = text(data.to_number) ?? text(data.phone) ?? text(body.phone);
  const toLoc = ["body", "customData", data.to_number !== undefined ? "to_number" : "phone"];
  const context: CallContext = { ...(asObject(data.context) as CallContext) };
  // GoHighLevel puts the contact at the top level; customData wins where both name a field.
  const topLevel: Record<string, unknown> = { ...body, company: body.company ?? body.company_name };
  for (const field of CONTEXT_FIELDS) {
    const value = text(data[field]) ?? (context[field] ? undefined : text(topLevel[field]));
    if (value !== undefined) context[field] = value;
  }
  const extras: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (CONTROL_KEYS.has(key) || (CONTEXT_FIELDS as readonly string[]).includes(key)) continue;
    const v = text(value);
    if (v !== undefined) extras[key] = v;
  }
  if (Object.keys(extras).length > 0) context.custom_fields = { ...extras, ...(context.custom_fields ?? {}) };
  const given = asObject(data.dynamic_variables);
  const dynamicVariables: Record<string, string> = { ...extras };
  for (const [key, value] of Object.entries(given)) {
    const v = text(value);
    if (v !== undefined) dynamicVariables[key] = v;
  }
  checkCrmSize(context, dynamicVariables);
  return {
    agentId: requireText(data.agent_id, ["body", "customData", "agent_id"]),
    toNumber: checkE164(crmPhone(requireText(toRaw, toLoc)), toLoc),
    fromPhoneNumberId: text(data.from_phone_number_id) ?? null,
    context,
    dynamicVariables,
  };
}

/** The direct body's limits (100 variables, 5000 characters a value) hold for the CRM body too. */
const CRM_MAX_VARIABLES = 100;
const CRM_MAX_VALUE_CHARS = 5000;

/** customData is open-ended: without limits, a webhook could put a megabyte into every call's prompt. */
function checkCrmSize(context: CallContext, dynamicVariables: Record<string, string>): void {
  const customFields = context.custom_fields ?? {};
  if (Object.keys(dynamicVariables).length > CRM_MAX_VARIABLES || Object.keys(customFields).length > CRM_MAX_VARIABLES) {
    throw invalidField(["body", "customData"], `at most ${CRM_MAX_VARIABLES} fields`, "value_error.too_many");
  }
  const values: [string, unknown][] = [
    ...Object.entries(dynamicVariables),
    ...Object.entries(customFields),
    ...Object.entries(context).filter(([key]) => key !== "custom_fields"),
  ];
  for (const [key, value] of values) {
    if (typeof value !== "string" && value !== null && value !== undefined && typeof value !== "number" && typeof value !== "boolean") {
      throw invalidField(["body", "customData", key], "must be text", "type_error.str");
    }
    if (typeof value === "string" && value.length > CRM_MAX_VALUE_CHARS) {
      throw invalidField(["body", "customData", key], `at most ${CRM_MAX_VALUE_CHARS} characters`, "value_error.too_long");
    }
  }
}

/** Either body of `/outbound/trigger`: `customData` present means the CRM style. */
export function triggerRequest(body: DirectBody): OutboundRequest {
  return body.customData !== undefined && body.agent_id === undefined ? crmRequest(body) : directRequest(body);
}

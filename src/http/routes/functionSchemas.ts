/**
 * Request and response schemas of the custom-function API (fields as in the Leadlock reference), and
 * the checks a JSON Schema can't express: built-in names, a compilable parameter schema, a usable URL
 * and safe headers.
 */
import { BUILTIN_TOOLS } from "../../../sessions/index.js";
import { compileParameters } from "../../calls/callFunctions.js";
import { RESERVED_HEADER_PREFIX } from "../../net/webhookSignature.js";
import type { FunctionResponse } from "../../storage/index.js";
import { HttpError, type ValidationDetail } from "../errors.js";
import { usualErrors } from "./errorSchemas.js";

export const WEBHOOK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export const NAME_PATTERN = "^[a-z][a-z0-9_]{0,63}$";
const MAX_HEADERS = 20;
// Token characters of RFC 9110, and header values node:http will send (no CR, LF or NUL).
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// Framing and routing are ours to set; a tenant's value would corrupt or redirect the request.
const FORBIDDEN_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive"]);

/** What a client sends to create a function: the response's editable fields. */
export type FunctionBody = Pick<
  FunctionResponse,
  | "name"
  | "description"
  | "parameters"
  | "webhook_url"
  | "webhook_method"
  | "webhook_headers"
  | "webhook_timeout_ms"
  | "is_enabled"
  | "speak_during_execution"
>;

/** Update bodies: every field optional, null meaning "leave as it is" (Leadlock's `| null`). */
export type FunctionPatchBody = { [K in keyof FunctionBody]?: FunctionBody[K] | null };

const orNull = <T extends string>(type: T) => [type, "null"] as const;

function functionFields(nullable: boolean) {
  const t = <T extends string>(type: T) => (nullable ? orNull(type) : type);
  return {
    name: { type: t("string"), pattern: NAME_PATTERN, description: "snake_case tool name, e.g. check_inventory; not end_call or transfer_call" },
    description: { type: t("string"), minLength: 1, maxLength: 4000, description: "What the function does (shown to the model)" },
    parameters: { type: t("object"), additionalProperties: true, description: 'JSON Schema of the arguments, with "type": "object"' },
    webhook_url: { type: t("string"), minLength: 1, maxLength: 2048, description: "http:// or https:// URL called with the arguments" },
    webhook_method: { type: t("string"), enum: nullable ? [...WEBHOOK_METHODS, null] : [...WEBHOOK_METHODS], description: "GET and DELETE send the arguments as a query string" },
    webhook_headers: {
      type: t("object"),
      maxProperties: MAX_HEADERS,
      additionalProperties: { type: "string", maxLength: 4096 },
      description: "Extra request headers (e.g. Authorization); X-Patchbay-* are reserved for the signature",
    },
    webhook_timeout_ms: { type: t("integer"), minimum: 1000, maximum: 30000, description: "Milliseconds to wait for the webhook (1000-30000)" },
    is_enabled: { type: t("boolean") },
    speak_during_execution: { type: t("boolean"), description: "Whether the agent keeps talking while the webhook runs" },
  } as const;
}

export const functionCreateSchema = {
  type: "object",
  required: ["name", "description", "webhook_url"],
  additionalProperties: false,
  properties: {
    ...functionFields(false),
    parameters: { ...functionFields(false).parameters, default: { type: "object", properties: {} } },
    webhook_method: { ...functionFields(false).webhook_method, default: "POST" },
    webhook_headers: { ...functionFields(false).webhook_headers, default: {} },
    webhook_timeout_ms: { ...functionFields(false).webhook_timeout_ms, default: 5000 },
    is_enabled: { ...functionFields(false).is_enabled, default: true },
    speak_during_execution: { ...functionFields(false).speak_during_execution, default: true },
  },
} as const;

export const functionUpdateSchema = { type: "object", additionalProperties: false, properties: functionFields(true) } as const;

const functionProperties = {
  id: { type: "string", format: "uuid" },
  tenant_id: { type: "string", format: "uuid" },
  agent_id: { type: ["string", "null"], description: "The agent, on the agent-scoped routes; null in the library" },
  name: { type: "string" },
  description: { type: "string" },
  parameters: { type: "object", additionalProperties: true },
  webhook_url: { type: "string" },
  webhook_method: { type: "string", enum: [...WEBHOOK_METHODS] },
  webhook_headers: { type: "object", additionalProperties: { type: "string" } },
  webhook_timeout_ms: { type: "integer" },
  is_enabled: { type: "boolean" },
  speak_during_execution: { type: "boolean" },
  created_at: { type: "string", format: "date-time" },
  updated_at: { type: "string", format: "date-time" },
} as const;

export const functionResponseSchema = { type: "object", required: Object.keys(functionProperties), properties: functionProperties } as const;

/** A function on an agent's routes: `is_enabled` is this agent's switch, `function_is_enabled` the library's. */
export const agentFunctionSchema = {
  type: "object",
  required: [...Object.keys(functionProperties), "function_is_enabled"],
  properties: {
    ...functionProperties,
    is_enabled: { type: "boolean", description: "Whether this agent uses the function" },
    function_is_enabled: { type: "boolean", description: "The library switch; calls use the function only when both are on" },
  },
} as const;

export const attachedAgentSchema = {
  type: "object",
  required: ["agent_id", "agent_name", "is_enabled", "attached_at"],
  properties: {
    agent_id: { type: "string", format: "uuid" },
    agent_name: { type: "string" },
    is_enabled: { type: "boolean", description: "Whether this agent uses the function" },
    attached_at: { type: "string", format: "date-time" },
  },
} as const;

export const functionWithAgentsSchema = {
  type: "object",
  required: [...functionResponseSchema.required, "agents", "agent_count"],
  properties: { ...functionProperties, agents: { type: "array", items: attachedAgentSchema }, agent_count: { type: "integer", minimum: 0 } },
} as const;

export const attachmentSchema = {
  type: "object",
  required: ["agent_id", "function_id", "is_enabled", "created_at"],
  properties: {
    agent_id: { type: "string", format: "uuid" },
    function_id: { type: "string", format: "uuid" },
    is_enabled: { type: "boolean" },
    created_at: { type: "string", format: "date-time" },
  },
} as const;

/** Optional as a whole: no body means no arguments. */
export const functionTestSchema = {
  type: ["object", "null"],
  additionalProperties: false,
  properties: {
    arguments: { type: "object", additionalProperties: true, default: {}, description: "Arguments to pass, checked against the parameter schema" },
    contact_id: { type: "string", default: "test-contact-id", description: "Accepted for Leadlock compatibility; unused" },
  },
} as const;

/** `/functions/test-webhook`: a webhook's settings before there is a function. */
export const webhookTestSchema = {
  type: "object",
  required: ["webhook_url"],
  additionalProperties: false,
  properties: {
    webhook_url: functionCreateSchema.properties.webhook_url,
    webhook_method: functionCreateSchema.properties.webhook_method,
    webhook_headers: functionCreateSchema.properties.webhook_headers,
    webhook_timeout_ms: functionCreateSchema.properties.webhook_timeout_ms,
    function_name: { type: ["string", "null"], pattern: NAME_PATTERN, description: "Sent as `function` in the test payload" },
    fields: { type: ["array", "null"], maxItems: 100, items: { type: "object", additionalProperties: true }, description: "`{name, type}` items to build sample arguments from" },
    contact: { type: ["object", "null"], additionalProperties: true, description: "Accepted for Leadlock compatibility; unused" },
  },
} as const;

export const functionTestResponseSchema = {
  type: "object",
  required: ["success", "status_code", "response_time_ms", "response_body", "error", "signature"],
  properties: {
    success: { type: "boolean" },
    status_code: { type: ["integer", "null"], description: "The webhook's HTTP status; null when no response came" },
    response_time_ms: { type: "number" },
    response_body: { description: "The webhook's answer: JSON when it parsed, else text; null without one" },
    error: { type: ["string", "null"] },
    signature: { type: ["string", "null"], description: "The X-Patchbay-Signature header sent (for checking a receiver)" },
  },
} as const;

export const functionErrors = usualErrors(404, 409, 422);

export const functionIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", description: "function id (UUID)" } },
} as const;

export const agentFunctionParams = {
  type: "object",
  required: ["id", "functionId"],
  properties: { id: { type: "string", description: "agent id (UUID)" }, functionId: { type: "string", description: "function id (UUID)" } },
} as const;

function urlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an absolute URL starting with http:// or https://";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must start with http:// or https://";
  if (url.username !== "" || url.password !== "") return "must not carry credentials; put them in webhook_headers (Authorization)";
  return null;
}

function headerProblems(headers: Record<string, string>): ValidationDetail[] {
  const out: ValidationDetail[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const loc = ["body", "webhook_headers", name];
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name)) out.push({ loc, msg: "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)", type: "value_error" });
    else if (lower.startsWith(RESERVED_HEADER_PREFIX)) out.push({ loc, msg: "X-Patchbay-* headers are set by Patchbay (the request signature)", type: "value_error" });
    else if (FORBIDDEN_HEADERS.has(lower)) out.push({ loc, msg: `${name} is set by Patchbay and can't be overridden`, type: "value_error" });
    else if (!HEADER_VALUE.test(value)) out.push({ loc, msg: "must not contain line breaks or control characters", type: "value_error" });
  }
  return out;
}

/** 422 naming every field a function body gets wrong beyond its JSON Schema; fields absent are not checked. */
export function checkFunctionBody(body: FunctionPatchBody): void {
  const detail: ValidationDetail[] = [];
  if (typeof body.name === "string" && (BUILTIN_TOOLS as readonly string[]).includes(body.name)) {
    detail.push({ loc: ["body", "name"], msg: `${body.name} is a built-in tool; pick another name`, type: "value_error" });
  }
  if (body.parameters !== undefined && body.parameters !== null) {
    const { problem } = compileParameters(body.parameters);
    if (problem !== undefined) detail.push({ loc: ["body", "parameters"], msg: problem, type: "value_error" });
  }
  if (typeof body.webhook_url === "string") {
    const problem = urlProblem(body.webhook_url);
    if (problem !== null) detail.push({ loc: ["body", "webhook_url"], msg: problem, type: "value_error" });
  }
  if (body.webhook_headers !== undefined && body.webhook_headers !== null) detail.push(...headerProblems(body.webhook_headers));
  if (detail.length === 0) return;
  throw new HttpError(422, "validation_error", detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; "), detail);
}

/** An update body without its nulls: null means "leave as it is". */
export function withoutNulls(body: FunctionPatchBody): Partial<FunctionBody> {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
}

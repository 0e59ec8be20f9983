/** Request and response schemas of the agent API (OpenAPI and validation), fields as in the Leadlock reference. */
import { CALL_FIELD_SCHEMA, PROVIDER_FIELD_SCHEMA, VAD_FIELD_SCHEMA } from "./agentFieldsSchema.js";
import { errorResponseSchema } from "./errors.js";

/** Every writable agent field; no top-level defaults, so a PATCH never fills in what it didn't send. */
function agentFields(providerNames: readonly string[]) {
  return {
    name: { type: "string", minLength: 1, maxLength: 200 },
    system_prompt: { type: "string", minLength: 1, maxLength: 100_000 },
    greeting: { type: ["string", "null"], maxLength: 2000 },
    greeting_outbound: { type: ["string", "null"], maxLength: 2000 },
    voice_provider: { type: "string", enum: [...providerNames] },
    voice: { type: "string", minLength: 1, maxLength: 100 },
    temperature: { type: "number", minimum: 0, maximum: 2 },
    ai_speaks_first: { type: "boolean" },
    is_active: { type: "boolean" },
    ...VAD_FIELD_SCHEMA,
    ...PROVIDER_FIELD_SCHEMA,
    ...CALL_FIELD_SCHEMA,
  } as const;
}

export function agentCreateSchema(providerNames: readonly string[]) {
  return { type: "object", required: ["name", "system_prompt"], additionalProperties: false, properties: agentFields(providerNames) } as const;
}

/** Any subset of the create fields, with the same rules. */
export function agentPatchSchema(providerNames: readonly string[]) {
  return { type: "object", additionalProperties: false, properties: agentFields(providerNames) } as const;
}

function agentResponseSchema(providerNames: readonly string[]) {
  const properties = {
    id: { type: "string", format: "uuid" },
    tenant_id: { type: "string", format: "uuid" },
    ...agentFields(providerNames),
    phone_count: { type: "integer", minimum: 0, description: "phone numbers routed to this agent" },
    created_at: { type: "string", format: "date-time" },
    updated_at: { type: "string", format: "date-time" },
  };
  return { type: "object", required: Object.keys(properties), properties } as const;
}

/** The error answers every agent route can give (the one shape of errors.ts). */
export const agentErrorResponses = {
  401: { description: "Missing or invalid API key", ...errorResponseSchema },
  404: { description: "No such agent in this tenant", ...errorResponseSchema },
  422: { description: "Validation error: `detail` names each field", ...errorResponseSchema },
} as const;

export function agentResponses(providerNames: readonly string[]) {
  const agent = agentResponseSchema(providerNames);
  return {
    agent,
    list: {
      type: "object",
      required: ["agents", "total"],
      properties: { agents: { type: "array", items: agent }, total: { type: "integer", minimum: 0 } },
    },
  } as const;
}

export const agentIdParams = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", description: "agent id (UUID)" } },
} as const;

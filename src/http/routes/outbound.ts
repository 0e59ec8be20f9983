import type { FastifyInstance, FastifyReply } from "fastify";
import { placeOutboundCall, type OutboundDeps } from "../../calls/outbound.js";
import { OutboundError } from "../../calls/outboundErrors.js";
import { OutboundRateLimiter } from "../../calls/outboundRateLimit.js";
import { directRequest, triggerRequest, type DirectBody } from "../../calls/outboundRequest.js";
import { twilioCredentialsFor } from "../../twilio/credentials.js";
import { twilioRest } from "../../twilio/rest.js";
import { tenantOf } from "../auth.js";
import { errorResponseSchema, HttpError } from "../errors.js";
import { UUID_PATTERN } from "../schemas.js";
import type { AppServices } from "../services.js";

const nullableText = (maxLength: number) => ({ type: ["string", "null"], maxLength }) as const;

const contextSchema = {
  type: ["object", "null"],
  additionalProperties: false,
  description: "Who is being called; told to the agent in its instructions and usable as {{first_name}} etc.",
  properties: {
    first_name: nullableText(200),
    last_name: nullableText(200),
    email: nullableText(320),
    company: nullableText(200),
    source: { ...nullableText(200), description: "Lead source, e.g. 'GHL Workflow'" },
    notes: nullableText(5000),
    custom_fields: { type: ["object", "null"], description: "Custom key-value pairs", additionalProperties: true },
  },
} as const;

const dynamicVariablesSchema = {
  type: ["object", "null"],
  maxProperties: 100,
  description: "Values for {{name}} in the agent's prompt and greetings; all values are strings",
  additionalProperties: { type: "string", maxLength: 5000 },
} as const;

const phoneNumberId = { type: ["string", "null"], pattern: UUID_PATTERN, description: "The tenant's number to call from; default: the agent's first active number" } as const;

const callBody = {
  type: "object",
  required: ["to_number"],
  additionalProperties: false,
  properties: {
    to_number: { type: "string", description: "E.164, e.g. +14155551234" },
    from_phone_number_id: phoneNumberId,
    ghl_contact_id: nullableText(200),
    context: contextSchema,
    dynamic_variables: dynamicVariablesSchema,
  },
} as const;

const triggerBody = {
  type: "object",
  // CRMs post the whole contact beside customData: unknown top-level fields are allowed and ignored.
  additionalProperties: true,
  description: "Direct: {agent_id, to_number, ...}. CRM (GoHighLevel): {customData: {agent_id, to_number | phone, from_phone_number_id?, first_name?, ...}}",
  properties: {
    agent_id: { type: "string", description: "Required unless customData carries it" },
    to_number: { type: "string", description: "E.164; required unless customData carries it" },
    from_phone_number_id: phoneNumberId,
    ghl_contact_id: nullableText(200),
    context: contextSchema,
    dynamic_variables: dynamicVariablesSchema,
    customData: { type: "object", additionalProperties: true, description: "CRM style: the call's fields; other keys become custom fields and variables" },
  },
} as const;

const placedCall = {
  type: "object",
  required: ["call_id", "call_sid", "status", "from_number", "to_number", "agent_id", "initiated_at"],
  properties: {
    call_id: { type: "string", description: "Internal call log id" },
    call_sid: { type: "string", description: "Twilio call SID" },
    status: { type: "string", description: "Initial call status" },
    from_number: { type: "string" },
    to_number: { type: "string" },
    agent_id: { type: "string" },
    initiated_at: { type: "string", format: "date-time" },
  },
} as const;

const responses = {
  201: placedCall,
  404: errorResponseSchema,
  409: errorResponseSchema,
  422: errorResponseSchema,
  429: errorResponseSchema,
  502: errorResponseSchema,
  503: errorResponseSchema,
};

/** An OutboundError as the API's error shape; a 429 says when to retry. */
function httpError(err: unknown, reply: FastifyReply): unknown {
  if (!(err instanceof OutboundError)) return err;
  if (err.extra.retryAfterSeconds !== undefined) void reply.header("retry-after", String(err.extra.retryAfterSeconds));
  const code = err.kind === "invalid_request" ? "validation_error" : err.kind;
  return new HttpError(err.status, code, err.message, err.extra.issues);
}

/** `POST /outbound/agents/:agentId/call` and `POST /outbound/trigger`. */
export function outboundRoutes(api: FastifyInstance, services: AppServices): void {
  const { config, db } = services;
  const deps: OutboundDeps = {
    config,
    db,
    log: services.log,
    clock: services.clock,
    providers: services.providers,
    limiter: new OutboundRateLimiter(config.outbound.ratePerMinute, () => services.clock.now()),
    credentials: (tenantId) => twilioCredentialsFor(db, config, tenantId),
    rest: (creds) => twilioRest(creds, config.twilio.apiBaseUrl),
  };

  api.post<{ Params: { agentId: string }; Body: DirectBody }>(
    "/outbound/agents/:agentId/call",
    {
      schema: {
        tags: ["outbound"],
        summary: "Place an outbound call from an agent",
        description: "The agent calls to_number from from_phone_number_id (or its first active number) and handles the conversation.",
        params: { type: "object", required: ["agentId"], properties: { agentId: { type: "string" } } },
        body: callBody,
        response: responses,
      },
    },
    async (req, reply) => {
      try {
        const placed = await placeOutboundCall(deps, tenantOf(req), directRequest(req.body, req.params.agentId));
        return await reply.code(201).send(placed);
      } catch (err) {
        throw httpError(err, reply);
      }
    },
  );

  api.post<{ Body: DirectBody }>(
    "/outbound/trigger",
    {
      schema: {
        tags: ["outbound"],
        summary: "Trigger an outbound call from an automation (Zapier, n8n, GoHighLevel)",
        description: "Accepts the direct body or the CRM style with customData; context and dynamic_variables personalise the call.",
        body: triggerBody,
        response: responses,
      },
    },
    async (req, reply) => {
      try {
        const placed = await placeOutboundCall(deps, tenantOf(req), triggerRequest(req.body));
        return await reply.code(201).send(placed);
      } catch (err) {
        throw httpError(err, reply);
      }
    },
  );
}

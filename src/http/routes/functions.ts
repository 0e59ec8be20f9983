/**
 * The tenant's function library: `/functions` (list with attached agents, create), `/functions/:id`
 * (get, update — every agent using it sees the change — delete from every agent), `/functions/:id/agents`
 * and `/functions/:id/test`, which calls the webhook for real through the same code path as a call.
 */
import type { FastifyInstance } from "fastify";
import { functionSpec, runFunction } from "../../calls/callFunctions.js";
import {
  createFunction,
  deleteFunction,
  getFunctionWithAgents,
  getWebhookSecret,
  listFunctions,
  toFunctionResponse,
  updateFunction,
  type CustomFunctionRow,
  type FunctionWithAgents,
} from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { notFound } from "../errors.js";
import type { AppServices } from "../services.js";
import {
  attachedAgentSchema,
  checkFunctionBody,
  functionCreateSchema,
  functionErrors,
  functionIdParams as params,
  functionResponseSchema,
  functionTestResponseSchema,
  functionTestSchema,
  functionUpdateSchema,
  functionWithAgentsSchema,
  webhookTestSchema,
  withoutNulls,
  type FunctionBody,
  type FunctionPatchBody,
} from "./functionSchemas.js";

type IdParams = { Params: { id: string } };
type TestBody = { arguments?: Record<string, unknown>; contact_id?: string };
type WebhookTestBody = Pick<FunctionBody, "webhook_url" | "webhook_method" | "webhook_headers" | "webhook_timeout_ms"> & {
  function_name?: string | null;
  fields?: unknown[] | null;
};

const SAMPLE_VALUES: Record<string, unknown> = { string: "test", number: 1, integer: 1, boolean: true, array: [], object: {} };

/** Sample arguments from the wizard's configured fields: `{name, type}` items, a placeholder value per type. */
function sampleArguments(fields: readonly unknown[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const field of fields) {
    if (typeof field !== "object" || field === null) continue;
    const { name, type } = field as { name?: unknown; type?: unknown };
    if (typeof name === "string" && name !== "") args[name] = SAMPLE_VALUES[typeof type === "string" ? type : "string"] ?? "test";
  }
  return args;
}

export interface FunctionTestResponse {
  success: boolean;
  status_code: number | null;
  response_time_ms: number;
  response_body: unknown;
  error: string | null;
  signature: string | null;
}

function withAgentsResponse(row: FunctionWithAgents) {
  const agents = row.agents.map((a) => ({ ...a, attached_at: a.attached_at.toISOString() }));
  return { ...toFunctionResponse(row), agents, agent_count: agents.length };
}

/** Calls the function's webhook once with `args`, as a call would (test call context, tenant's secret). */
export async function testFunction(
  { db, config }: AppServices,
  tenantId: string,
  row: Pick<CustomFunctionRow, "name" | "webhook_url" | "webhook_method" | "webhook_headers" | "webhook_timeout_ms" | "speak_during_execution" | "parameters">,
  args: Record<string, unknown>,
  agentId: string | null,
): Promise<FunctionTestResponse> {
  const secret = await getWebhookSecret(db, tenantId);
  const call = { callId: "test", callSid: "test", direction: "test", from: "", to: "", agentId };
  const run = await runFunction(functionSpec(row), JSON.stringify(args), call, { secret, allowHosts: config.ssrfAllowHosts });
  return {
    success: run.ok,
    status_code: run.httpStatus,
    response_time_ms: Math.round(run.durationMs * 10) / 10,
    response_body: run.responseBody,
    error: run.error,
    signature: run.signature,
  };
}

export function functionRoutes(api: FastifyInstance, services: AppServices): void {
  const { db } = services;
  const tags = ["functions"];

  api.get(
    "/functions",
    {
      schema: {
        tags,
        summary: "List the tenant's function library, each with the agents it is attached to",
        response: {
          200: { type: "object", required: ["functions", "total"], properties: { functions: { type: "array", items: functionWithAgentsSchema }, total: { type: "integer" } } },
          ...functionErrors,
        },
      },
    },
    async (req) => {
      const rows = await listFunctions(db, tenantOf(req));
      return { functions: rows.map(withAgentsResponse), total: rows.length };
    },
  );

  api.post<{ Body: FunctionBody }>(
    "/functions",
    {
      schema: {
        tags,
        summary: "Create a function in the library (attach it to agents separately)",
        body: functionCreateSchema,
        response: { 201: functionResponseSchema, ...functionErrors },
      },
    },
    async (req, reply) => {
      checkFunctionBody(req.body);
      const row = await createFunction(db, tenantOf(req), req.body);
      return reply.code(201).send(toFunctionResponse(row));
    },
  );

  api.post<{ Body: WebhookTestBody }>(
    "/functions/test-webhook",
    {
      schema: {
        tags,
        summary: "Call a webhook URL once before saving a function",
        description:
          "The same signed request a function makes, with sample arguments built from `fields` (`{name, type}` items). " +
          "A webhook failure is a 200 with `success: false`.",
        body: webhookTestSchema,
        response: { 200: functionTestResponseSchema, ...functionErrors },
      },
    },
    async (req) => {
      const body = req.body;
      checkFunctionBody({ webhook_url: body.webhook_url, webhook_headers: body.webhook_headers });
      const spec = {
        name: body.function_name ?? "test_webhook",
        webhook_url: body.webhook_url,
        webhook_method: body.webhook_method ?? "POST",
        webhook_headers: body.webhook_headers ?? {},
        webhook_timeout_ms: body.webhook_timeout_ms ?? 5000,
        speak_during_execution: true,
        parameters: { type: "object" },
      };
      return testFunction(services, tenantOf(req), spec, sampleArguments(body.fields ?? []), null);
    },
  );

  api.get<IdParams>(
    "/functions/:id",
    { schema: { tags, summary: "Get a library function with the agents using it", params, response: { 200: functionWithAgentsSchema, ...functionErrors } } },
    async (req) => {
      const row = await getFunctionWithAgents(db, tenantOf(req), req.params.id);
      if (row === null) throw notFound("function");
      return withAgentsResponse(row);
    },
  );

  api.put<IdParams & { Body: FunctionPatchBody }>(
    "/functions/:id",
    {
      schema: {
        tags,
        summary: "Update a library function; every agent using it sees the change",
        params,
        body: functionUpdateSchema,
        response: { 200: functionResponseSchema, ...functionErrors },
      },
    },
    async (req) => {
      checkFunctionBody(req.body);
      return toFunctionResponse(await updateFunction(db, tenantOf(req), req.params.id, withoutNulls(req.body)));
    },
  );

  api.delete<IdParams>(
    "/functions/:id",
    {
      schema: {
        tags,
        summary: "Delete a library function; it is removed from every agent",
        params,
        response: { 204: { description: "Deleted", type: "null" }, ...functionErrors },
      },
    },
    async (req, reply) => {
      await deleteFunction(db, tenantOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  api.get<IdParams>(
    "/functions/:id/agents",
    {
      schema: {
        tags,
        summary: "List the agents a function is attached to",
        params,
        response: {
          200: { type: "object", required: ["agents", "total"], properties: { agents: { type: "array", items: attachedAgentSchema }, total: { type: "integer" } } },
          ...functionErrors,
        },
      },
    },
    async (req) => {
      const row = await getFunctionWithAgents(db, tenantOf(req), req.params.id);
      if (row === null) throw notFound("function");
      const { agents } = withAgentsResponse(row);
      return { agents, total: agents.length };
    },
  );

  api.post<IdParams & { Body: TestBody }>(
    "/functions/:id/test",
    {
      schema: {
        tags,
        summary: "Call a function's webhook once with test arguments",
        description:
          "Makes the real, signed request a call would make (call id, SID and direction `test`), even when the function is disabled. " +
          "A webhook failure is a 200 with `success: false` and `error` saying what happened.",
        params,
        body: functionTestSchema,
        response: { 200: functionTestResponseSchema, ...functionErrors },
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      const row = await getFunctionWithAgents(db, tenantId, req.params.id);
      if (row === null) throw notFound("function");
      return testFunction(services, tenantId, row, req.body?.arguments ?? {}, null);
    },
  );
}

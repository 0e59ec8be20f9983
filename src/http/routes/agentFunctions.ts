/**
 * An agent's functions: `/agents/:id/functions` (attached and available; create-and-attach), attach,
 * detach, and per function get, update (is_enabled for this agent only, the rest for every agent),
 * delete from the library, enable, disable and test.
 */
import type { FastifyInstance } from "fastify";
import {
  attachFunction,
  createFunction,
  deleteFunction,
  detachFunction,
  getAgentFunction,
  listAgentFunctions,
  setAttachmentEnabled,
  toFunctionResponse,
  updateFunction,
  type AgentFunction,
  type AgentFunctionRow,
} from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { notFound } from "../errors.js";
import { UUID_PATTERN } from "../schemas.js";
import type { AppServices } from "../services.js";
import {
  agentFunctionParams,
  agentFunctionSchema,
  attachmentSchema,
  checkFunctionBody,
  functionCreateSchema,
  functionErrors,
  functionResponseSchema,
  functionTestResponseSchema,
  functionTestSchema,
  functionUpdateSchema,
  withoutNulls,
  type FunctionBody,
  type FunctionPatchBody,
} from "./functionSchemas.js";
import { testFunction } from "./functions.js";

type AgentParams = { Params: { id: string } };
type Params = { Params: { id: string; functionId: string } };
type AttachBody = { function_id: string; is_enabled?: boolean };

const agentParams = { type: "object", required: ["id"], properties: { id: { type: "string", description: "agent id (UUID)" } } } as const;
const params = agentFunctionParams;

const attachBody = {
  type: "object",
  required: ["function_id"],
  additionalProperties: false,
  properties: {
    function_id: { type: "string", pattern: UUID_PATTERN, description: "The library function to attach" },
    is_enabled: { type: "boolean", default: true, description: "Whether this agent uses it" },
  },
} as const;

function agentFunctionResponse(row: AgentFunction, agentId: string) {
  return { ...toFunctionResponse(row, agentId), is_enabled: row.attachment_enabled, function_is_enabled: row.is_enabled };
}

function attachmentResponse(row: AgentFunctionRow) {
  return { agent_id: row.agent_id, function_id: row.function_id, is_enabled: row.is_enabled, created_at: row.created_at.toISOString() };
}

export function agentFunctionRoutes(api: FastifyInstance, services: AppServices): void {
  const { db } = services;
  const tags = ["agent functions"];
  const ok = (schema: object) => ({ 200: schema, ...functionErrors });

  /** The function as attached to the agent, or 404 (either outside the tenant, or not attached). */
  const attached = async (tenantId: string, agentId: string, functionId: string): Promise<AgentFunction> => {
    const row = await getAgentFunction(db, tenantId, agentId, functionId);
    if (row === null) throw notFound("function attached to this agent");
    return row;
  };

  api.get<AgentParams>(
    "/agents/:id/functions",
    {
      schema: {
        tags,
        summary: "The agent's attached functions and the library functions not attached to it",
        params: agentParams,
        response: ok({
          type: "object",
          required: ["attached", "available"],
          properties: { attached: { type: "array", items: agentFunctionSchema }, available: { type: "array", items: functionResponseSchema } },
        }),
      },
    },
    async (req) => {
      const { attached: rows, available } = await listAgentFunctions(db, tenantOf(req), req.params.id);
      return { attached: rows.map((row) => agentFunctionResponse(row, req.params.id)), available: available.map((row) => toFunctionResponse(row)) };
    },
  );

  api.post<AgentParams & { Body: FunctionBody }>(
    "/agents/:id/functions",
    {
      schema: {
        tags,
        summary: "Create a function in the library and attach it to this agent",
        params: agentParams,
        body: functionCreateSchema,
        response: { 201: functionResponseSchema, ...functionErrors },
      },
    },
    async (req, reply) => {
      checkFunctionBody(req.body);
      const tenantId = tenantOf(req);
      const row = await db.transaction().execute(async (trx) => {
        const created = await createFunction(trx, tenantId, req.body);
        await attachFunction(trx, tenantId, req.params.id, created.id, true);
        return created;
      });
      return reply.code(201).send(toFunctionResponse(row, req.params.id));
    },
  );

  api.post<AgentParams & { Body: AttachBody }>(
    "/agents/:id/functions/attach",
    {
      schema: { tags, summary: "Attach a library function to this agent", params: agentParams, body: attachBody, response: { 201: attachmentSchema, ...functionErrors } },
    },
    async (req, reply) => {
      const row = await attachFunction(db, tenantOf(req), req.params.id, req.body.function_id, req.body.is_enabled ?? true);
      return reply.code(201).send(attachmentResponse(row));
    },
  );

  api.delete<{ Params: { id: string; functionId: string } }>(
    "/agents/:id/functions/detach/:functionId",
    {
      schema: {
        tags,
        summary: "Detach a function from this agent; it stays in the library",
        params,
        response: { 204: { description: "Detached", type: "null" }, ...functionErrors },
      },
    },
    async (req, reply) => {
      await detachFunction(db, tenantOf(req), req.params.id, req.params.functionId);
      return reply.code(204).send();
    },
  );

  api.get<Params>(
    "/agents/:id/functions/:functionId",
    { schema: { tags, summary: "Get a function attached to this agent", params, response: ok(agentFunctionSchema) } },
    async (req) => agentFunctionResponse(await attached(tenantOf(req), req.params.id, req.params.functionId), req.params.id),
  );

  api.put<Params & { Body: FunctionPatchBody }>(
    "/agents/:id/functions/:functionId",
    {
      schema: {
        tags,
        summary: "Update a function: is_enabled for this agent only, every other field for all agents using it",
        params,
        body: functionUpdateSchema,
        response: ok(agentFunctionSchema),
      },
    },
    async (req) => {
      checkFunctionBody(req.body);
      const tenantId = tenantOf(req);
      const { id: agentId, functionId } = req.params;
      const { is_enabled: enabled, ...shared } = withoutNulls(req.body);
      const row = await db.transaction().execute(async (trx) => {
        if ((await getAgentFunction(trx, tenantId, agentId, functionId)) === null) throw notFound("function attached to this agent");
        if (Object.keys(shared).length > 0) await updateFunction(trx, tenantId, functionId, shared);
        if (enabled !== undefined) await setAttachmentEnabled(trx, tenantId, agentId, functionId, enabled);
        return getAgentFunction(trx, tenantId, agentId, functionId);
      });
      if (row === null) throw notFound("function attached to this agent");
      return agentFunctionResponse(row, agentId);
    },
  );

  api.delete<Params>(
    "/agents/:id/functions/:functionId",
    {
      schema: {
        tags,
        summary: "Delete a function from the library: it is removed from ALL agents (use detach for this one only)",
        params,
        response: { 204: { description: "Deleted", type: "null" }, ...functionErrors },
      },
    },
    async (req, reply) => {
      const tenantId = tenantOf(req);
      await attached(tenantId, req.params.id, req.params.functionId);
      await deleteFunction(db, tenantId, req.params.functionId);
      return reply.code(204).send();
    },
  );

  for (const [action, enabled] of [["enable", true], ["disable", false]] as const) {
    api.post<Params>(
      `/agents/:id/functions/:functionId/${action}`,
      {
        schema: {
          tags,
          summary: enabled ? "Use an attached function on this agent's calls" : "Keep a function attached but unused on this agent's calls",
          params,
          response: ok(attachmentSchema),
        },
      },
      async (req) => attachmentResponse(await setAttachmentEnabled(db, tenantOf(req), req.params.id, req.params.functionId, enabled)),
    );
  }

  api.post<Params & { Body: { arguments?: Record<string, unknown> } }>(
    "/agents/:id/functions/:functionId/test",
    {
      schema: {
        tags,
        summary: "Call an attached function's webhook once with test arguments",
        description: "As POST /functions/{id}/test, with this agent's id in the request's call context.",
        params,
        body: functionTestSchema,
        response: ok(functionTestResponseSchema),
      },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      const row = await attached(tenantId, req.params.id, req.params.functionId);
      return testFunction(services, tenantId, row, req.body?.arguments ?? {}, req.params.id);
    },
  );
}

import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { PROVIDER_AGENT_DEFAULTS } from "../../../providers/agentFields.js";
import { VAD_DEFAULTS } from "../../calls/providerConfig.js";
import {
  AGENT_CALL_DEFAULTS,
  createAgent,
  deleteAgent,
  duplicateAgent,
  getAgent,
  getAgentWithPhoneCount,
  listAgentsWithPhoneCount,
  toAgentResponse,
  toggleAgent,
  updateAgent,
  type AgentInput,
  type AgentRow,
  type Database,
} from "../../storage/index.js";
import { SETTINGS_FIELDS } from "../agentFieldsSchema.js";
import { checkAgentRules } from "../agentRules.js";
import { agentCreateSchema, agentErrorResponses, agentIdParams, agentPatchSchema, agentResponses } from "../agentSchemas.js";
import { tenantOf } from "../auth.js";
import { notFound } from "../errors.js";

type AgentBody = Record<string, unknown>;
type IdParams = { Params: { id: string } };

/** Splits a validated body into columns and the settings that aren't columns yet. */
function agentInput(body: AgentBody): Omit<AgentInput, "name"> {
  const settings: Record<string, unknown> = {};
  const columns: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (SETTINGS_FIELDS.includes(name)) settings[name] = value;
    else columns[name] = value;
  }
  return { ...(columns as Omit<AgentInput, "name" | "settings">), ...(Object.keys(settings).length > 0 ? { settings } : {}) };
}

/** The stored agent with every field it hasn't set shown at its default. */
function agentResponse(row: AgentRow & { phone_count?: number }): Record<string, unknown> {
  return { ...PROVIDER_AGENT_DEFAULTS, ...VAD_DEFAULTS, ...AGENT_CALL_DEFAULTS, ...toAgentResponse(row), phone_count: row.phone_count ?? 0 };
}

export function agentRoutes(app: FastifyInstance, db: Kysely<Database>, providerNames: readonly string[]): void {
  const createSchema = agentCreateSchema(providerNames);
  const patchSchema = agentPatchSchema(providerNames);
  const { agent, list } = agentResponses(providerNames);
  const tags = ["agents"];
  const params = agentIdParams;

  app.get("/agents", { schema: { tags, summary: "List agents", response: { 200: list, ...agentErrorResponses } } }, async (req) => {
    const agents = await listAgentsWithPhoneCount(db, tenantOf(req));
    return { agents: agents.map(agentResponse), total: agents.length };
  });

  app.post<{ Body: AgentBody }>(
    "/agents",
    {
      schema: { tags, summary: "Create an agent", body: createSchema, response: { 201: agent, ...agentErrorResponses } },
    },
    async (req, reply) => {
      checkAgentRules(req.body);
      const row = await createAgent(db, tenantOf(req), { ...agentInput(req.body), name: req.body.name as string });
      return reply.code(201).send(agentResponse(row));
    },
  );

  app.get<IdParams>("/agents/:id", { schema: { tags, summary: "Get an agent", params, response: { 200: agent, ...agentErrorResponses } } }, async (req) => {
    // Storage answers null for another tenant's id and for ids that aren't UUIDs alike.
    const row = await getAgentWithPhoneCount(db, tenantOf(req), req.params.id);
    if (row === null) throw notFound("agent");
    return agentResponse(row);
  });

  app.patch<IdParams & { Body: AgentBody }>(
    "/agents/:id",
    {
      schema: { tags, summary: "Update an agent: any subset of its fields", params, body: patchSchema, response: { 200: agent, ...agentErrorResponses } },
    },
    async (req) => {
      const tenantId = tenantOf(req);
      // Locked read, check, write: a concurrent PATCH cannot slip in between and break a cross-field rule.
      const row = await db.transaction().execute(async (trx) => {
        const current = await getAgent(trx, tenantId, req.params.id, { forUpdate: true });
        if (current === null) throw notFound("agent");
        checkAgentRules({ ...agentResponse(current), ...req.body });
        return updateAgent(trx, tenantId, current.id, agentInput(req.body));
      });
      return agentResponse(row);
    },
  );

  app.delete<IdParams>(
    "/agents/:id",
    {
      schema: {
        tags,
        summary: "Delete an agent; its phone numbers stay, unassigned",
        params,
        response: { 204: { description: "Deleted", type: "null" }, ...agentErrorResponses },
      },
    },
    async (req, reply) => {
      // Storage's NotFoundError (another tenant's id, a malformed one) is the error handler's 404.
      await deleteAgent(db, tenantOf(req), req.params.id);
      return reply.code(204).send();
    },
  );

  app.post<IdParams>(
    "/agents/:id/toggle",
    { schema: { tags, summary: "Flip an agent's is_active", params, response: { 200: agent, ...agentErrorResponses } } },
    async (req) => agentResponse(await toggleAgent(db, tenantOf(req), req.params.id)),
  );

  app.post<IdParams>(
    "/agents/:id/duplicate",
    {
      schema: {
        tags,
        summary: 'Copy an agent as "<name> (Copy)", inactive, without phone numbers',
        params,
        response: { 201: agent, ...agentErrorResponses },
      },
    },
    async (req, reply) => reply.code(201).send(agentResponse(await duplicateAgent(db, tenantOf(req), req.params.id))),
  );
}

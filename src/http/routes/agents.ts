import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { createAgent, getAgent, listAgents, toAgentResponse, type AgentInput, type Database } from "../../storage/index.js";
import { tenantOf } from "../auth.js";
import { notFound } from "../errors.js";
import { idParams } from "../schemas.js";

export const OPENAI_VOICES = ["alloy", "ash", "ballad", "cedar", "coral", "echo", "marin", "sage", "shimmer", "verse"] as const;

function agentCreateSchema(providerNames: readonly string[]) {
  return {
    type: "object",
    required: ["name", "system_prompt"],
    additionalProperties: false,
    properties: {
      name: { type: "string", minLength: 1, maxLength: 200 },
      system_prompt: { type: "string", minLength: 1, maxLength: 100_000 },
      greeting: { type: ["string", "null"], maxLength: 2000 },
      greeting_outbound: { type: ["string", "null"], maxLength: 2000 },
      voice_provider: { type: "string", enum: [...providerNames] },
      voice: { type: "string", minLength: 1, maxLength: 100 },
      openai_voice: { type: "string", enum: [...OPENAI_VOICES] },
      temperature: { type: "number", minimum: 0, maximum: 2 },
      ai_speaks_first: { type: "boolean" },
      is_active: { type: "boolean" },
    },
  } as const;
}

export function agentRoutes(app: FastifyInstance, db: Kysely<Database>, providerNames: readonly string[]): void {
  app.post<{ Body: AgentInput }>("/agents", { schema: { tags: ["agents"], body: agentCreateSchema(providerNames) } }, async (req, reply) => {
    const agent = await createAgent(db, tenantOf(req), req.body);
    return reply.code(201).send(toAgentResponse(agent));
  });

  app.get("/agents", { schema: { tags: ["agents"] } }, async (req) => {
    const agents = await listAgents(db, tenantOf(req));
    return { agents: agents.map(toAgentResponse), total: agents.length };
  });

  app.get<{ Params: { id: string } }>("/agents/:id", { schema: { tags: ["agents"], params: idParams } }, async (req) => {
    // Storage answers null for another tenant's id and for ids that aren't UUIDs alike.
    const agent = await getAgent(db, tenantOf(req), req.params.id);
    if (agent === null) throw notFound("agent");
    return toAgentResponse(agent);
  });
}

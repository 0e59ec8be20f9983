import type { FastifyInstance } from "fastify";
import type { Kysely } from "kysely";
import { PROVIDER_AGENT_DEFAULTS, XAI_VOICES } from "../../../providers/agentFields.js";
import { VAD_DEFAULTS } from "../../calls/providerConfig.js";
import { createAgent, getAgent, listAgents, toAgentResponse, type AgentInput, type AgentRow, type Database } from "../../storage/index.js";
import { PROVIDER_FIELD_SCHEMA, SETTINGS_FIELDS, VAD_FIELD_SCHEMA } from "../agentFieldsSchema.js";
import { tenantOf } from "../auth.js";
import { notFound, unprocessable } from "../errors.js";
import { idParams } from "../schemas.js";

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
      temperature: { type: "number", minimum: 0, maximum: 2 },
      ai_speaks_first: { type: "boolean" },
      is_active: { type: "boolean" },
      ...VAD_FIELD_SCHEMA,
      ...PROVIDER_FIELD_SCHEMA,
    },
  } as const;
}

type AgentBody = Omit<AgentInput, "settings"> & Record<string, unknown>;

/** Splits a validated body into columns and the settings that aren't columns yet. */
function agentInput(body: AgentBody): AgentInput {
  const settings: Record<string, unknown> = {};
  const columns: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (SETTINGS_FIELDS.includes(name)) settings[name] = value;
    else columns[name] = value;
  }
  return { ...(columns as unknown as AgentInput), settings };
}

/** Rules across fields that JSON Schema can't say: a provider's required settings. */
function checkProviderRequirements(body: AgentBody): void {
  // xAI rejects an unknown voice at session setup, which would fail every call: catch it here.
  if (body.voice_provider === "xai" && typeof body.voice === "string" && !(XAI_VOICES as readonly string[]).includes(body.voice)) {
    throw unprocessable(["body", "voice"], `must be one of the xAI voices: ${XAI_VOICES.join(", ")}`, "enum");
  }
  if (body.voice_provider === "elevenlabs" && (body.elevenlabs_agent_id === undefined || body.elevenlabs_agent_id === null)) {
    throw unprocessable(["body", "elevenlabs_agent_id"], "required when voice_provider is elevenlabs (the ElevenLabs agent to talk through)", "missing");
  }
}

/** The stored agent with every provider field it hasn't set shown at its default. */
function agentResponse(row: AgentRow): Record<string, unknown> {
  return { ...PROVIDER_AGENT_DEFAULTS, ...VAD_DEFAULTS, ...toAgentResponse(row) };
}

export function agentRoutes(app: FastifyInstance, db: Kysely<Database>, providerNames: readonly string[]): void {
  app.post<{ Body: AgentBody }>("/agents", { schema: { tags: ["agents"], body: agentCreateSchema(providerNames) } }, async (req, reply) => {
    checkProviderRequirements(req.body);
    const agent = await createAgent(db, tenantOf(req), agentInput(req.body));
    return reply.code(201).send(agentResponse(agent));
  });

  app.get("/agents", { schema: { tags: ["agents"] } }, async (req) => {
    const agents = await listAgents(db, tenantOf(req));
    return { agents: agents.map(agentResponse), total: agents.length };
  });

  app.get<{ Params: { id: string } }>("/agents/:id", { schema: { tags: ["agents"], params: idParams } }, async (req) => {
    // Storage answers null for another tenant's id and for ids that aren't UUIDs alike.
    const agent = await getAgent(db, tenantOf(req), req.params.id);
    if (agent === null) throw notFound("agent");
    return agentResponse(agent);
  });
}

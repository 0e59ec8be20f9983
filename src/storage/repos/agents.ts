/** Agents: a voice persona and its settings, always read and written within one tenant. */
import { sql, type ExpressionBuilder } from "kysely";
import { isForeignKeyViolation, NotFoundError } from "../errors.js";
import type { AgentRow, Database, JsonValue } from "../schema.js";
import { isUuid, json, toIso, type Queryable } from "./shared.js";

/** Agent fields as the API names them; `settings` holds fields not yet promoted to columns. */
export interface AgentInput {
  name: string;
  system_prompt?: string;
  greeting?: string | null;
  greeting_outbound?: string | null;
  voice_provider?: string;
  voice?: string;
  openai_voice?: string;
  temperature?: number;
  ai_speaks_first?: boolean;
  is_active?: boolean;
  settings?: Record<string, unknown>;
}

/** A partial update; `settings` keys are merged into the stored ones, not replacing them. */
export type AgentPatch = Partial<AgentInput>;

export interface AgentResponse {
  [field: string]: JsonValue;
  id: string;
  tenant_id: string;
  name: string;
  system_prompt: string;
  greeting: string | null;
  greeting_outbound: string | null;
  voice_provider: string;
  voice: string;
  openai_voice: string;
  temperature: number;
  ai_speaks_first: boolean;
  is_active: boolean;
  created_at: string;
  updated_at: string;
}

/** An agent with the number of phone numbers routed to it. */
export type AgentWithPhoneCount = AgentRow & { phone_count: number };

/** Numbers routed to the agent; a number can only be routed to an agent of its own tenant. */
function phoneCount(eb: ExpressionBuilder<Database, "agents">) {
  return eb
    .selectFrom("phone_numbers")
    .select(sql<number>`count(*)::int`.as("n"))
    .whereRef("phone_numbers.agent_id", "=", "agents.id")
    .$asScalar()
    .$notNull()
    .as("phone_count");
}

/** Copies only the promoted columns, so a stray request field can never name a column. Kysely skips undefined. */
function agentColumns(input: AgentPatch): Omit<AgentPatch, "settings"> {
  return {
    name: input.name,
    system_prompt: input.system_prompt,
    greeting: input.greeting,
    greeting_outbound: input.greeting_outbound,
    voice_provider: input.voice_provider,
    voice: input.voice,
    openai_voice: input.openai_voice,
    temperature: input.temperature,
    ai_speaks_first: input.ai_speaks_first,
    is_active: input.is_active,
  };
}

export async function createAgent(db: Queryable, tenantId: string, input: AgentInput): Promise<AgentRow> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  try {
    return await db
      .insertInto("agents")
      .values({ ...agentColumns(input), name: input.name, tenant_id: tenantId, settings: JSON.stringify(input.settings ?? {}) })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new NotFoundError("tenant", tenantId, { cause: err });
    throw err;
  }
}

export async function listAgents(db: Queryable, tenantId: string): Promise<AgentRow[]> {
  if (!isUuid(tenantId)) return [];
  return db
    .selectFrom("agents")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
}

/** `forUpdate` locks the row until the transaction `db` is part of ends (a read-modify-write). */
export async function getAgent(db: Queryable, tenantId: string, agentId: string, opts: { forUpdate?: boolean } = {}): Promise<AgentRow | null> {
  if (!isUuid(tenantId) || !isUuid(agentId)) return null;
  const query = db.selectFrom("agents").selectAll().where("tenant_id", "=", tenantId).where("id", "=", agentId);
  const row = await (opts.forUpdate === true ? query.forUpdate() : query).executeTakeFirst();
  return row ?? null;
}

export async function listAgentsWithPhoneCount(db: Queryable, tenantId: string): Promise<AgentWithPhoneCount[]> {
  if (!isUuid(tenantId)) return [];
  return db
    .selectFrom("agents")
    .selectAll("agents")
    .select(phoneCount)
    .where("tenant_id", "=", tenantId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
}

export async function getAgentWithPhoneCount(db: Queryable, tenantId: string, agentId: string): Promise<AgentWithPhoneCount | null> {
  if (!isUuid(tenantId) || !isUuid(agentId)) return null;
  const row = await db
    .selectFrom("agents")
    .selectAll("agents")
    .select(phoneCount)
    .where("tenant_id", "=", tenantId)
    .where("id", "=", agentId)
    .executeTakeFirst();
  return row ?? null;
}

export async function updateAgent(db: Queryable, tenantId: string, agentId: string, patch: AgentPatch): Promise<AgentWithPhoneCount> {
  if (!isUuid(tenantId) || !isUuid(agentId)) throw new NotFoundError("agent", agentId);
  const { settings } = patch;
  const row = await db
    .updateTable("agents")
    .set({
      ...agentColumns(patch),
      ...(settings !== undefined ? { settings: sql<string>`settings || ${json(settings)}` } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", agentId)
    .returningAll()
    .returning(phoneCount)
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError("agent", agentId);
  return row;
}

/** Flips is_active in one statement, so two concurrent toggles cannot both read the old value. */
export async function toggleAgent(db: Queryable, tenantId: string, agentId: string): Promise<AgentWithPhoneCount> {
  if (!isUuid(tenantId) || !isUuid(agentId)) throw new NotFoundError("agent", agentId);
  const row = await db
    .updateTable("agents")
    .set({ is_active: sql<boolean>`not is_active`, updated_at: sql<Date>`now()` })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", agentId)
    .returningAll()
    .returning(phoneCount)
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError("agent", agentId);
  return row;
}

/**
 * Copies every setting into a new inactive agent named "<name> (Copy)", in one statement so the copy
 * is of one consistent row. Phone numbers stay with the original.
 */
export async function duplicateAgent(db: Queryable, tenantId: string, agentId: string): Promise<AgentRow> {
  if (!isUuid(tenantId) || !isUuid(agentId)) throw new NotFoundError("agent", agentId);
  const row = await db
    .insertInto("agents")
    .columns(["tenant_id", "name", "system_prompt", "greeting", "greeting_outbound", "voice_provider", "voice", "openai_voice", "temperature", "ai_speaks_first", "settings", "is_active"])
    .expression((eb) =>
      eb
        .selectFrom("agents")
        .select([
          "tenant_id",
          sql<string>`name || ' (Copy)'`.as("name"),
          "system_prompt",
          "greeting",
          "greeting_outbound",
          "voice_provider",
          "voice",
          "openai_voice",
          "temperature",
          "ai_speaks_first",
          "settings",
          sql<boolean>`false`.as("is_active"),
        ])
        .where("tenant_id", "=", tenantId)
        .where("id", "=", agentId),
    )
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError("agent", agentId);
  return row;
}

/** The agent's phone numbers stay in the tenant, unassigned (phone_numbers.agent_id is ON DELETE SET NULL). */
export async function deleteAgent(db: Queryable, tenantId: string, agentId: string): Promise<void> {
  if (!isUuid(tenantId) || !isUuid(agentId)) throw new NotFoundError("agent", agentId);
  const result = await db.deleteFrom("agents").where("tenant_id", "=", tenantId).where("id", "=", agentId).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new NotFoundError("agent", agentId);
}

/** Unpromoted settings first, so a column always wins over a stale settings key of the same name. */
export function toAgentResponse(row: AgentRow): AgentResponse {
  return {
    ...row.settings,
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    system_prompt: row.system_prompt,
    greeting: row.greeting,
    greeting_outbound: row.greeting_outbound,
    voice_provider: row.voice_provider,
    voice: row.voice,
    openai_voice: row.openai_voice,
    temperature: row.temperature,
    ai_speaks_first: row.ai_speaks_first,
    is_active: row.is_active,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

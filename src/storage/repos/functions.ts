/**
 * Custom functions: the tenant's library, which agents each one is attached to, and the tenant's
 * webhook signing secret. Every query filters on the tenant; another tenant's row is "not found".
 */
import { sql } from "kysely";
import { generateWebhookSecret } from "../../net/webhookSignature.js";
import { ConflictError, isForeignKeyViolation, isUniqueViolation, NotFoundError } from "../errors.js";
import type { AgentFunctionRow, CustomFunctionRow, JsonObject } from "../schema.js";
import { isUuid, toIso, type Queryable } from "./shared.js";

export interface FunctionInput {
  name: string;
  description: string;
  parameters?: JsonObject;
  webhook_url: string;
  webhook_method?: string;
  webhook_headers?: Record<string, string>;
  webhook_timeout_ms?: number;
  is_enabled?: boolean;
  speak_during_execution?: boolean;
}

export type FunctionPatch = Partial<FunctionInput>;

/** An agent a function is attached to; `is_enabled` is that agent's switch for it. */
export interface AttachedAgent {
  agent_id: string;
  agent_name: string;
  is_enabled: boolean;
  attached_at: Date;
}

export type FunctionWithAgents = CustomFunctionRow & { agents: AttachedAgent[] };

/** A function as attached to one agent: the library row plus that agent's switch. */
export type AgentFunction = CustomFunctionRow & { attachment_enabled: boolean; attached_at: Date };

export interface FunctionResponse {
  id: string;
  tenant_id: string;
  agent_id: string | null;
  name: string;
  description: string;
  parameters: JsonObject;
  webhook_url: string;
  webhook_method: string;
  webhook_headers: Record<string, string>;
  webhook_timeout_ms: number;
  is_enabled: boolean;
  speak_during_execution: boolean;
  created_at: string;
  updated_at: string;
}

const duplicateName = (name: string, err: unknown): ConflictError =>
  new ConflictError("function", `a function named ${name} already exists in this tenant; pick another name`, { cause: err });

/** Only the table's columns, so a stray field can never name one; jsonb as text (see schema.ts). */
function functionColumns(input: FunctionPatch) {
  return {
    name: input.name,
    description: input.description,
    parameters: input.parameters === undefined ? undefined : JSON.stringify(input.parameters),
    webhook_url: input.webhook_url,
    webhook_method: input.webhook_method,
    webhook_headers: input.webhook_headers === undefined ? undefined : JSON.stringify(input.webhook_headers),
    webhook_timeout_ms: input.webhook_timeout_ms,
    is_enabled: input.is_enabled,
    speak_during_execution: input.speak_during_execution,
  };
}

export async function createFunction(db: Queryable, tenantId: string, input: FunctionInput): Promise<CustomFunctionRow> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  try {
    return await db
      .insertInto("custom_functions")
      .values({ ...functionColumns(input), name: input.name, description: input.description, webhook_url: input.webhook_url, tenant_id: tenantId })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateName(input.name, err);
    if (isForeignKeyViolation(err)) throw new NotFoundError("tenant", tenantId, { cause: err });
    throw err;
  }
}

export async function getFunction(db: Queryable, tenantId: string, functionId: string): Promise<CustomFunctionRow | null> {
  if (!isUuid(tenantId) || !isUuid(functionId)) return null;
  const row = await db.selectFrom("custom_functions").selectAll().where("tenant_id", "=", tenantId).where("id", "=", functionId).executeTakeFirst();
  return row ?? null;
}

/** The agents each of the given functions is attached to, by function id. */
async function attachedAgents(db: Queryable, tenantId: string, functionIds: readonly string[]): Promise<Map<string, AttachedAgent[]>> {
  const byFunction = new Map<string, AttachedAgent[]>(functionIds.map((id) => [id, []]));
  if (functionIds.length === 0) return byFunction;
  const rows = await db
    .selectFrom("agent_functions as af")
    .innerJoin("agents as a", (join) => join.onRef("a.id", "=", "af.agent_id").onRef("a.tenant_id", "=", "af.tenant_id"))
    .select(["af.function_id", "af.agent_id", "a.name as agent_name", "af.is_enabled", "af.created_at as attached_at"])
    .where("af.tenant_id", "=", tenantId)
    .where("af.function_id", "in", functionIds)
    .orderBy("a.name")
    .orderBy("af.agent_id")
    .execute();
  for (const { function_id, ...agent } of rows) byFunction.get(function_id)?.push(agent);
  return byFunction;
}

/** The tenant's library by name, each function with the agents it is attached to. */
export async function listFunctions(db: Queryable, tenantId: string): Promise<FunctionWithAgents[]> {
  if (!isUuid(tenantId)) return [];
  const rows = await db.selectFrom("custom_functions").selectAll().where("tenant_id", "=", tenantId).orderBy("name").execute();
  const agents = await attachedAgents(db, tenantId, rows.map((r) => r.id));
  return rows.map((row) => ({ ...row, agents: agents.get(row.id) ?? [] }));
}

export async function getFunctionWithAgents(db: Queryable, tenantId: string, functionId: string): Promise<FunctionWithAgents | null> {
  const row = await getFunction(db, tenantId, functionId);
  if (row === null) return null;
  const agents = await attachedAgents(db, tenantId, [row.id]);
  return { ...row, agents: agents.get(row.id) ?? [] };
}

/** Changes every agent using the function; NotFoundError outside the tenant, ConflictError on a taken name. */
export async function updateFunction(db: Queryable, tenantId: string, functionId: string, patch: FunctionPatch): Promise<CustomFunctionRow> {
  if (!isUuid(tenantId) || !isUuid(functionId)) throw new NotFoundError("function", functionId);
  try {
    const row = await db
      .updateTable("custom_functions")
      .set({ ...functionColumns(patch), updated_at: sql<Date>`now()` })
      .where("tenant_id", "=", tenantId)
      .where("id", "=", functionId)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) throw new NotFoundError("function", functionId);
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateName(patch.name ?? "", err);
    throw err;
  }
}

/** Removes the function from the library and from every agent (agent_functions cascades). */
export async function deleteFunction(db: Queryable, tenantId: string, functionId: string): Promise<void> {
  if (!isUuid(tenantId) || !isUuid(functionId)) throw new NotFoundError("function", functionId);
  const result = await db.deleteFrom("custom_functions").where("tenant_id", "=", tenantId).where("id", "=", functionId).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new NotFoundError("function", functionId);
}

async function assertAgent(db: Queryable, tenantId: string, agentId: string): Promise<void> {
  const agent = isUuid(agentId)
    ? await db.selectFrom("agents").select("id").where("tenant_id", "=", tenantId).where("id", "=", agentId).executeTakeFirst()
    : undefined;
  if (agent === undefined) throw new NotFoundError("agent", agentId);
}

function agentFunctionsQuery(db: Queryable, tenantId: string, agentId: string) {
  return db
    .selectFrom("agent_functions as af")
    .innerJoin("custom_functions as f", (join) => join.onRef("f.id", "=", "af.function_id").onRef("f.tenant_id", "=", "af.tenant_id"))
    .selectAll("f")
    .select(["af.is_enabled as attachment_enabled", "af.created_at as attached_at"])
    .where("af.tenant_id", "=", tenantId)
    .where("af.agent_id", "=", agentId);
}

/** The agent's attached functions and the library functions not attached to it, each by name. */
export async function listAgentFunctions(
  db: Queryable,
  tenantId: string,
  agentId: string,
): Promise<{ attached: AgentFunction[]; available: CustomFunctionRow[] }> {
  if (!isUuid(tenantId)) throw new NotFoundError("agent", agentId);
  await assertAgent(db, tenantId, agentId);
  const attached = await agentFunctionsQuery(db, tenantId, agentId).orderBy("f.name").execute();
  const available = await db
    .selectFrom("custom_functions as f")
    .selectAll("f")
    .where("f.tenant_id", "=", tenantId)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("agent_functions as af")
            .select("af.function_id")
            .whereRef("af.function_id", "=", "f.id")
            .where("af.tenant_id", "=", tenantId)
            .where("af.agent_id", "=", agentId),
        ),
      ),
    )
    .orderBy("f.name")
    .execute();
  return { attached, available };
}

/** One function as attached to the agent; null when either is outside the tenant or it is not attached. */
export async function getAgentFunction(db: Queryable, tenantId: string, agentId: string, functionId: string): Promise<AgentFunction | null> {
  if (!isUuid(tenantId) || !isUuid(agentId) || !isUuid(functionId)) return null;
  const row = await agentFunctionsQuery(db, tenantId, agentId).where("af.function_id", "=", functionId).executeTakeFirst();
  return row ?? null;
}

/** What a call may use: attached functions switched on both in the library and for this agent. */
export async function listCallableFunctions(db: Queryable, tenantId: string, agentId: string): Promise<AgentFunction[]> {
  if (!isUuid(tenantId) || !isUuid(agentId)) return [];
  return agentFunctionsQuery(db, tenantId, agentId).where("af.is_enabled", "=", true).where("f.is_enabled", "=", true).orderBy("f.name").execute();
}

/**
 * Links a library function to an agent, both of the tenant, in one statement (nothing is inserted
 * when either is another tenant's). NotFoundError names which is missing; ConflictError when attached.
 */
export async function attachFunction(db: Queryable, tenantId: string, agentId: string, functionId: string, isEnabled = true): Promise<AgentFunctionRow> {
  if (!isUuid(tenantId)) throw new NotFoundError("agent", agentId);
  await assertAgent(db, tenantId, agentId);
  if ((await getFunction(db, tenantId, functionId)) === null) throw new NotFoundError("function", functionId);
  try {
    const row = await db
      .insertInto("agent_functions")
      .columns(["tenant_id", "agent_id", "function_id", "is_enabled"])
      .expression((eb) =>
        eb
          .selectFrom("agents as a")
          .innerJoin("custom_functions as f", "f.tenant_id", "a.tenant_id")
          .select(["a.tenant_id", "a.id as agent_id", "f.id as function_id", sql<boolean>`${isEnabled}::boolean`.as("is_enabled")])
          .where("a.tenant_id", "=", tenantId)
          .where("a.id", "=", agentId)
          .where("f.id", "=", functionId),
      )
      .returningAll()
      .executeTakeFirst();
    // Deleted between the checks and the insert.
    if (row === undefined) throw new NotFoundError("function", functionId);
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError("function", "this function is already attached to this agent", { cause: err });
    if (isForeignKeyViolation(err)) throw new NotFoundError("function", functionId, { cause: err });
    throw err;
  }
}

/** Unlinks the function from the agent; it stays in the library. */
export async function detachFunction(db: Queryable, tenantId: string, agentId: string, functionId: string): Promise<void> {
  if (!isUuid(tenantId) || !isUuid(agentId) || !isUuid(functionId)) throw new NotFoundError("attached function", functionId);
  const result = await db
    .deleteFrom("agent_functions")
    .where("tenant_id", "=", tenantId)
    .where("agent_id", "=", agentId)
    .where("function_id", "=", functionId)
    .executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new NotFoundError("attached function", functionId);
}

/** Turns the function on or off for this agent only. */
export async function setAttachmentEnabled(db: Queryable, tenantId: string, agentId: string, functionId: string, enabled: boolean): Promise<AgentFunctionRow> {
  if (!isUuid(tenantId) || !isUuid(agentId) || !isUuid(functionId)) throw new NotFoundError("attached function", functionId);
  const row = await db
    .updateTable("agent_functions")
    .set({ is_enabled: enabled })
    .where("tenant_id", "=", tenantId)
    .where("agent_id", "=", agentId)
    .where("function_id", "=", functionId)
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError("attached function", functionId);
  return row;
}

/** The tenant's webhook signing secret, generated (once, even under concurrent callers) on first use. */
export async function getWebhookSecret(db: Queryable, tenantId: string): Promise<string> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  const current = await db.selectFrom("tenants").select("webhook_secret").where("id", "=", tenantId).executeTakeFirst();
  if (current === undefined) throw new NotFoundError("tenant", tenantId);
  if (current.webhook_secret !== null) return current.webhook_secret;
  const row = await db
    .updateTable("tenants")
    .set({ webhook_secret: sql<string>`coalesce(webhook_secret, ${generateWebhookSecret()})` })
    .where("id", "=", tenantId)
    .returning("webhook_secret")
    .executeTakeFirst();
  if (row?.webhook_secret == null) throw new NotFoundError("tenant", tenantId);
  return row.webhook_secret;
}

/** Replaces the signing secret; requests signed with the old one stop verifying at once. */
export async function rotateWebhookSecret(db: Queryable, tenantId: string): Promise<string> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  const secret = generateWebhookSecret();
  const result = await db.updateTable("tenants").set({ webhook_secret: secret }).where("id", "=", tenantId).executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new NotFoundError("tenant", tenantId);
  return secret;
}

/** `agentId` for the agent-scoped routes (Leadlock's `agent_id`); null for the library's. */
export function toFunctionResponse(row: CustomFunctionRow, agentId: string | null = null): FunctionResponse {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    agent_id: agentId,
    name: row.name,
    description: row.description,
    parameters: row.parameters,
    webhook_url: row.webhook_url,
    webhook_method: row.webhook_method,
    webhook_headers: row.webhook_headers,
    webhook_timeout_ms: row.webhook_timeout_ms,
    is_enabled: row.is_enabled,
    speak_during_execution: row.speak_during_execution,
    created_at: toIso(row.created_at),
    updated_at: toIso(row.updated_at),
  };
}

/** Phone numbers: globally unique E.164 numbers, each owned by one tenant and routed to one agent. */
import { ConflictError, isForeignKeyViolation, isUniqueViolation, NotFoundError } from "../errors.js";
import type { AgentRow, PhoneNumberRow } from "../schema.js";
import { getAgent } from "./agents.js";
import { isUuid, toIso, type Queryable } from "./shared.js";

export interface PhoneNumberInput {
  phone_number: string;
  friendly_name?: string | null;
  agent_id?: string | null;
  twilio_sid?: string | null;
  is_active?: boolean;
}

export type PhoneNumberPatch = Partial<Omit<PhoneNumberInput, "phone_number">>;

export interface PhoneNumberResponse {
  id: string;
  tenant_id: string;
  phone_number: string;
  friendly_name: string | null;
  agent_id: string | null;
  twilio_sid: string | null;
  is_active: boolean;
  created_at: string;
}

/** Foreign keys alone would accept another tenant's agent; this keeps routing inside the tenant. */
async function assertAgentInTenant(db: Queryable, tenantId: string, agentId: string | null | undefined): Promise<void> {
  if (agentId === null || agentId === undefined) return;
  if ((await getAgent(db, tenantId, agentId)) === null) throw new NotFoundError("agent", agentId);
}

/** Throws ConflictError when the number is already registered (by any tenant). */
export async function createPhoneNumber(db: Queryable, tenantId: string, input: PhoneNumberInput): Promise<PhoneNumberRow> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  await assertAgentInTenant(db, tenantId, input.agent_id);
  try {
    return await db
      .insertInto("phone_numbers")
      .values({
        tenant_id: tenantId,
        phone_number: input.phone_number,
        friendly_name: input.friendly_name ?? null,
        agent_id: input.agent_id ?? null,
        twilio_sid: input.twilio_sid ?? null,
        is_active: input.is_active,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ConflictError("phone number", `${input.phone_number} is already registered`, { cause: err });
    }
    if (isForeignKeyViolation(err)) throw new NotFoundError("tenant or agent", tenantId, { cause: err });
    throw err;
  }
}

export async function listPhoneNumbers(db: Queryable, tenantId: string): Promise<PhoneNumberRow[]> {
  if (!isUuid(tenantId)) return [];
  return db
    .selectFrom("phone_numbers")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
}

export async function getPhoneNumber(db: Queryable, tenantId: string, id: string): Promise<PhoneNumberRow | null> {
  if (!isUuid(tenantId) || !isUuid(id)) return null;
  const row = await db.selectFrom("phone_numbers").selectAll().where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
  return row ?? null;
}

/** The tenant's numbers routed to one agent, oldest first (the order an agent's numbers were added). */
export async function listAgentPhoneNumbers(db: Queryable, tenantId: string, agentId: string): Promise<PhoneNumberRow[]> {
  if (!isUuid(tenantId) || !isUuid(agentId)) return [];
  return db
    .selectFrom("phone_numbers")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("agent_id", "=", agentId)
    .orderBy("created_at", "asc")
    .orderBy("id", "asc")
    .execute();
}

/**
 * Throws NotFoundError("phone number") for a number outside the tenant, checked before the agent so
 * another tenant's number never reveals whether the agent exists; NotFoundError("agent") for an agent
 * outside the tenant.
 */
export async function updatePhoneNumber(db: Queryable, tenantId: string, id: string, patch: PhoneNumberPatch): Promise<PhoneNumberRow> {
  const current = await getPhoneNumber(db, tenantId, id);
  if (current === null) throw new NotFoundError("phone number", id);
  await assertAgentInTenant(db, tenantId, patch.agent_id);
  const changes = { friendly_name: patch.friendly_name, agent_id: patch.agent_id, twilio_sid: patch.twilio_sid, is_active: patch.is_active };
  if (Object.values(changes).every((v) => v === undefined)) return current;
  try {
    const row = await db.updateTable("phone_numbers").set(changes).where("tenant_id", "=", tenantId).where("id", "=", id).returningAll().executeTakeFirst();
    if (row === undefined) throw new NotFoundError("phone number", id);
    return row;
  } catch (err) {
    // The agent was deleted between the check and the update.
    if (isForeignKeyViolation(err)) throw new NotFoundError("agent", patch.agent_id ?? "", { cause: err });
    throw err;
  }
}

export async function deletePhoneNumber(db: Queryable, tenantId: string, id: string): Promise<void> {
  if (!isUuid(tenantId) || !isUuid(id)) throw new NotFoundError("phone number", id);
  const result = await db.deleteFrom("phone_numbers").where("tenant_id", "=", tenantId).where("id", "=", id).executeTakeFirst();
  if (result.numDeletedRows === 0n) throw new NotFoundError("phone number", id);
}

/** The tenant's active number and the agent it routes to (null when unassigned); null if unknown. */
export async function findActiveByNumber(
  db: Queryable,
  tenantId: string,
  e164: string,
): Promise<{ phoneNumber: PhoneNumberRow; agent: AgentRow | null } | null> {
  if (!isUuid(tenantId)) return null;
  const phoneNumber = await db
    .selectFrom("phone_numbers")
    .selectAll()
    .where("tenant_id", "=", tenantId)
    .where("phone_number", "=", e164)
    .where("is_active", "=", true)
    .executeTakeFirst();
  if (phoneNumber === undefined) return null;
  const agent = phoneNumber.agent_id === null ? null : await getAgent(db, tenantId, phoneNumber.agent_id);
  return { phoneNumber, agent };
}

export function toPhoneNumberResponse(row: PhoneNumberRow): PhoneNumberResponse {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    phone_number: row.phone_number,
    friendly_name: row.friendly_name,
    agent_id: row.agent_id,
    twilio_sid: row.twilio_sid,
    is_active: row.is_active,
    created_at: toIso(row.created_at),
  };
}

/** Tenants: the unit of isolation every other row hangs off. */
import type { TenantRow } from "../schema.js";
import { isUuid, type Queryable } from "./shared.js";

export async function createTenant(db: Queryable, name: string): Promise<TenantRow> {
  return db.insertInto("tenants").values({ name }).returningAll().executeTakeFirstOrThrow();
}

export async function getTenant(db: Queryable, tenantId: string): Promise<TenantRow | null> {
  if (!isUuid(tenantId)) return null;
  const row = await db.selectFrom("tenants").selectAll().where("id", "=", tenantId).executeTakeFirst();
  return row ?? null;
}

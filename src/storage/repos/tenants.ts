/** Tenants: the unit of isolation every other row hangs off. */
import type { TenantRow } from "../schema.js";
import { isUuid, toIso, type Queryable } from "./shared.js";

/** A tenant's public columns; its Twilio credentials are read only through tenantTwilio.ts. */
export type Tenant = Pick<TenantRow, "id" | "name" | "is_platform" | "created_at">;

export interface TenantResponse {
  id: string;
  name: string;
  is_platform: boolean;
  created_at: string;
}

const PUBLIC_COLUMNS = ["id", "name", "is_platform", "created_at"] as const;

export async function createTenant(db: Queryable, name: string): Promise<Tenant> {
  return db.insertInto("tenants").values({ name }).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow();
}

export async function getTenant(db: Queryable, tenantId: string): Promise<Tenant | null> {
  if (!isUuid(tenantId)) return null;
  const row = await db.selectFrom("tenants").select(PUBLIC_COLUMNS).where("id", "=", tenantId).executeTakeFirst();
  return row ?? null;
}

/** Every tenant, oldest first; for the platform admin only. */
export async function listTenants(db: Queryable): Promise<Tenant[]> {
  return db.selectFrom("tenants").select(PUBLIC_COLUMNS).orderBy("created_at").orderBy("id").execute();
}

export function toTenantResponse(row: Tenant): TenantResponse {
  return { id: row.id, name: row.name, is_platform: row.is_platform, created_at: toIso(row.created_at) };
}

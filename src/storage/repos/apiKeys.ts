/** API keys: only a SHA-256 hash is stored; the key itself is shown once, at creation. */
import { createHash, randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { isForeignKeyViolation, NotFoundError } from "../errors.js";
import type { ApiKeyRow, Database } from "../schema.js";
import { isUuid, toIso, type Queryable } from "./shared.js";
import { createTenant } from "./tenants.js";

export interface ApiKeyPrincipal {
  tenantId: string;
  keyId: string;
  isAdmin: boolean;
}

export interface ApiKeyResponse {
  id: string;
  tenant_id: string;
  name: string;
  key_prefix: string;
  is_admin: boolean;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const KEY_PREFIX_LENGTH = 8;
const BOOTSTRAP_TENANT_NAME = "default";
// Serialises bootstrap across instances starting together against one database.
const BOOTSTRAP_LOCK_ID = 0x7062_0001;

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function generateApiKey(): string {
  return `pb_${randomBytes(32).toString("base64url")}`;
}

async function insertApiKey(db: Queryable, tenantId: string, name: string, isAdmin: boolean, key: string): Promise<ApiKeyRow> {
  try {
    return await db
      .insertInto("api_keys")
      .values({ tenant_id: tenantId, name, is_admin: isAdmin, key_hash: hashApiKey(key), key_prefix: key.slice(0, KEY_PREFIX_LENGTH) })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new NotFoundError("tenant", tenantId, { cause: err });
    throw err;
  }
}

export async function createApiKey(
  db: Queryable,
  tenantId: string,
  input: { name: string; isAdmin?: boolean },
): Promise<{ record: ApiKeyRow; key: string }> {
  if (!isUuid(tenantId)) throw new NotFoundError("tenant", tenantId);
  const key = generateApiKey();
  const record = await insertApiKey(db, tenantId, input.name, input.isAdmin ?? false, key);
  return { record, key };
}

/** Resolves a presented key to its tenant; revoked and unknown keys give null. Also stamps last_used_at. */
export async function findByKey(db: Queryable, key: string): Promise<ApiKeyPrincipal | null> {
  // One round trip: the UPDATE both finds the key and records its use.
  const row = await db
    .updateTable("api_keys")
    .set({ last_used_at: sql<Date>`now()` })
    .where("key_hash", "=", hashApiKey(key))
    .where("revoked_at", "is", null)
    .returning(["id", "tenant_id", "is_admin"])
    .executeTakeFirst();
  return row === undefined ? null : { tenantId: row.tenant_id, keyId: row.id, isAdmin: row.is_admin };
}

export async function listApiKeys(db: Queryable, tenantId: string): Promise<ApiKeyRow[]> {
  if (!isUuid(tenantId)) return [];
  return db.selectFrom("api_keys").selectAll().where("tenant_id", "=", tenantId).orderBy("created_at", "desc").orderBy("id", "desc").execute();
}

/** Revokes a key of this tenant; revoking twice keeps the first revocation time. */
export async function revokeApiKey(db: Queryable, tenantId: string, keyId: string): Promise<ApiKeyRow> {
  if (!isUuid(tenantId) || !isUuid(keyId)) throw new NotFoundError("api key", keyId);
  const row = await db
    .updateTable("api_keys")
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", keyId)
    .returningAll()
    .executeTakeFirst();
  if (row === undefined) throw new NotFoundError("api key", keyId);
  return row;
}

/**
 * Makes sure an admin key exists. With `adminKey` (PATCHBAY_ADMIN_KEY) that key is stored once as an
 * admin key of the bootstrap tenant; without it, a key is generated only when no admin key exists, and
 * returned as `generatedKey` for the operator to see once.
 */
export async function ensureBootstrapAdmin(
  db: Kysely<Database>,
  adminKey: string | undefined,
): Promise<{ tenantId: string; generatedKey?: string }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(BOOTSTRAP_LOCK_ID)})`.execute(trx);
    if (adminKey !== undefined && adminKey !== "") {
      const stored = await trx
        .selectFrom("api_keys")
        .select(["tenant_id", "revoked_at"])
        .where("key_hash", "=", hashApiKey(adminKey))
        .executeTakeFirst();
      if (stored !== undefined) {
        // Restarting with a revoked key must not quietly bring it back.
        if (stored.revoked_at !== null) throw new Error("PATCHBAY_ADMIN_KEY has been revoked; configure a new key");
        return { tenantId: stored.tenant_id };
      }
      const tenantId = await bootstrapTenantId(trx);
      await insertApiKey(trx, tenantId, "PATCHBAY_ADMIN_KEY", true, adminKey);
      return { tenantId };
    }
    const admin = await activeAdminTenant(trx);
    if (admin !== undefined) return { tenantId: admin };
    const tenantId = await bootstrapTenantId(trx);
    const generatedKey = generateApiKey();
    await insertApiKey(trx, tenantId, "bootstrap admin", true, generatedKey);
    return { tenantId, generatedKey };
  });
}

async function activeAdminTenant(db: Queryable): Promise<string | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .select("tenant_id")
    .where("is_admin", "=", true)
    .where("revoked_at", "is", null)
    .orderBy("created_at")
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  return row?.tenant_id;
}

/** The tenant of the oldest live admin key, else the oldest "default" tenant, else a new one. */
async function bootstrapTenantId(db: Queryable): Promise<string> {
  const admin = await activeAdminTenant(db);
  if (admin !== undefined) return admin;
  const existing = await db
    .selectFrom("tenants")
    .select("id")
    .where("name", "=", BOOTSTRAP_TENANT_NAME)
    .orderBy("created_at")
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  return existing?.id ?? (await createTenant(db, BOOTSTRAP_TENANT_NAME)).id;
}

export function toApiKeyResponse(row: ApiKeyRow): ApiKeyResponse {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    key_prefix: row.key_prefix,
    is_admin: row.is_admin,
    created_at: toIso(row.created_at),
    last_used_at: toIso(row.last_used_at),
    revoked_at: toIso(row.revoked_at),
  };
}

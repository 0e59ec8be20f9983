/** API keys: only a SHA-256 hash is stored; the key itself is shown once, at creation. */
import { createHash, randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { ConflictError, isForeignKeyViolation, NotFoundError } from "../errors.js";
import type { ApiKeyRow, Database } from "../schema.js";
import { isUuid, toIso, type Queryable } from "./shared.js";
import { createTenant, type Tenant } from "./tenants.js";

export interface ApiKeyPrincipal {
  tenantId: string;
  keyId: string;
  isAdmin: boolean;
  /** An admin key of the platform (bootstrap) tenant: may create and list tenants. */
  isPlatformAdmin: boolean;
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
/** How stale `last_used_at` may get: writing it on every request would make a busy key a hot row. */
const LAST_USED_RESOLUTION = sql`interval '1 minute'`;

export async function findByKey(db: Queryable, key: string): Promise<ApiKeyPrincipal | null> {
  const row = await db
    .selectFrom("api_keys")
    .innerJoin("tenants", "tenants.id", "api_keys.tenant_id")
    .select(["api_keys.id", "api_keys.tenant_id", "api_keys.is_admin", "tenants.is_platform"])
    .where("api_keys.key_hash", "=", hashApiKey(key))
    .where("api_keys.revoked_at", "is", null)
    .executeTakeFirst();
  if (row === undefined) return null;
  // A read for every request; a write at most once a minute per key.
  await db
    .updateTable("api_keys")
    .set({ last_used_at: sql<Date>`now()` })
    .where("id", "=", row.id)
    .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", sql<Date>`now() - ${LAST_USED_RESOLUTION}`)]))
    .execute();
  return { tenantId: row.tenant_id, keyId: row.id, isAdmin: row.is_admin, isPlatformAdmin: row.is_admin && row.is_platform };
}

export async function getApiKey(db: Queryable, tenantId: string, keyId: string): Promise<ApiKeyRow | null> {
  if (!isUuid(tenantId) || !isUuid(keyId)) return null;
  const row = await db.selectFrom("api_keys").selectAll().where("tenant_id", "=", tenantId).where("id", "=", keyId).executeTakeFirst();
  return row ?? null;
}

/** A new tenant with its first key, an admin key so the tenant can manage its own keys; one transaction. */
export async function createTenantWithKey(db: Kysely<Database>, name: string): Promise<{ tenant: Tenant; record: ApiKeyRow; key: string }> {
  return db.transaction().execute(async (trx) => {
    const tenant = await createTenant(trx, name);
    const { record, key } = await createApiKey(trx, tenant.id, { name: "initial admin", isAdmin: true });
    return { tenant, record, key };
  });
}

export async function listApiKeys(db: Queryable, tenantId: string): Promise<ApiKeyRow[]> {
  if (!isUuid(tenantId)) return [];
  return db.selectFrom("api_keys").selectAll().where("tenant_id", "=", tenantId).orderBy("created_at", "desc").orderBy("id", "desc").execute();
}

/**
 * Revokes a key of this tenant; revoking twice keeps the first revocation time. The tenant's last
 * active admin key is refused (ConflictError): without it nobody could manage the tenant's keys again.
 */
export async function revokeApiKey(db: Queryable, tenantId: string, keyId: string): Promise<ApiKeyRow> {
  if (!isUuid(tenantId) || !isUuid(keyId)) throw new NotFoundError("api key", keyId);
  return db.isTransaction ? revokeIn(db, tenantId, keyId) : db.transaction().execute((trx) => revokeIn(trx, tenantId, keyId));
}

async function revokeIn(trx: Queryable, tenantId: string, keyId: string): Promise<ApiKeyRow> {
  // Locking the tenant row serialises revocations, so two admin keys can't revoke each other at once.
  await trx.selectFrom("tenants").select("id").where("id", "=", tenantId).forUpdate().executeTakeFirst();
  const target = await getApiKey(trx, tenantId, keyId);
  if (target === null) throw new NotFoundError("api key", keyId);
  if (target.is_admin && target.revoked_at === null) {
    const { admins } = await trx
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<string | number>().as("admins"))
      .where("tenant_id", "=", tenantId)
      .where("is_admin", "=", true)
      .where("revoked_at", "is", null)
      .executeTakeFirstOrThrow();
    if (Number(admins) <= 1) {
      throw new ConflictError("api key", "this is the tenant's last active admin key; create another admin key before revoking it");
    }
  }
  return trx
    .updateTable("api_keys")
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where("tenant_id", "=", tenantId)
    .where("id", "=", keyId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Makes sure the platform tenant exists, is marked, and has an admin key. With `adminKey`
 * (PATCHBAY_ADMIN_KEY) that key is stored once as an admin key of the platform tenant; without it, a key
 * is generated only when the platform tenant has no live admin key, and returned as `generatedKey` for
 * the operator to see once.
 */
export async function ensureBootstrapAdmin(
  db: Kysely<Database>,
  adminKey: string | undefined,
): Promise<{ tenantId: string; generatedKey?: string }> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(BOOTSTRAP_LOCK_ID)})`.execute(trx);
    const platform = await platformTenantId(trx);
    if (adminKey !== undefined && adminKey !== "") {
      const stored = await trx
        .selectFrom("api_keys")
        .select(["tenant_id", "revoked_at", "is_admin"])
        .where("key_hash", "=", hashApiKey(adminKey))
        .executeTakeFirst();
      if (stored !== undefined) {
        // Restarting with a revoked key must not quietly bring it back.
        if (stored.revoked_at !== null) throw new Error("PATCHBAY_ADMIN_KEY has been revoked; configure a new key");
        // Naming some tenant's key as the admin key must not make that tenant the platform.
        if (!stored.is_admin || (platform !== undefined && stored.tenant_id !== platform)) {
          throw new Error("PATCHBAY_ADMIN_KEY is already in use as another API key; configure a new key");
        }
        await markPlatform(trx, stored.tenant_id);
        return { tenantId: stored.tenant_id };
      }
      const tenantId = platform ?? (await bootstrapTenantId(trx));
      await insertApiKey(trx, tenantId, "PATCHBAY_ADMIN_KEY", true, adminKey);
      await markPlatform(trx, tenantId);
      return { tenantId };
    }
    const tenantId = platform ?? (await bootstrapTenantId(trx));
    await markPlatform(trx, tenantId);
    if (await hasActiveAdmin(trx, tenantId)) return { tenantId };
    const generatedKey = generateApiKey();
    await insertApiKey(trx, tenantId, "bootstrap admin", true, generatedKey);
    return { tenantId, generatedKey };
  });
}

async function platformTenantId(db: Queryable): Promise<string | undefined> {
  const row = await db.selectFrom("tenants").select("id").where("is_platform", "=", true).executeTakeFirst();
  return row?.id;
}

async function markPlatform(db: Queryable, tenantId: string): Promise<void> {
  await db.updateTable("tenants").set({ is_platform: true }).where("id", "=", tenantId).where("is_platform", "=", false).execute();
}

async function hasActiveAdmin(db: Queryable, tenantId: string): Promise<boolean> {
  const row = await db
    .selectFrom("api_keys")
    .select("id")
    .where("tenant_id", "=", tenantId)
    .where("is_admin", "=", true)
    .where("revoked_at", "is", null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Installs from before the platform mark: the tenant of the oldest live admin key, else the oldest "default" tenant, else a new one. */
async function bootstrapTenantId(db: Queryable): Promise<string> {
  const admin = await db
    .selectFrom("api_keys")
    .select("tenant_id")
    .where("is_admin", "=", true)
    .where("revoked_at", "is", null)
    .orderBy("created_at")
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  if (admin !== undefined) return admin.tenant_id;
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

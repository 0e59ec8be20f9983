import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConflictError,
  createApiKey,
  createTenant,
  createTenantWithKey,
  getSealedTenantTwilio,
  getTenant,
  ensureBootstrapAdmin,
  findByKey,
  listApiKeys,
  NotFoundError,
  revokeApiKey,
  clearTenantTwilio,
  getTenantTwilioSid,
  openTenantTwilioToken,
  setTenantTwilio,
  toApiKeyResponse,
  type Db,
} from "../../src/storage/index.js";
import { storageBackends } from "./backends.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe.each(storageBackends)("api keys on $kind", (backend) => {
  let store: Db;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    await store.close();
  });

  // First in the file: bootstrap depends on there being no admin key yet.
  it("bootstraps one admin key, generated once and reused on restart", async () => {
    const first = await ensureBootstrapAdmin(store.db, undefined);
    expect(first.generatedKey).toMatch(/^pb_[A-Za-z0-9_-]{43}$/);
    expect(await findByKey(store.db, first.generatedKey ?? "")).toMatchObject({ tenantId: first.tenantId, isAdmin: true, isPlatformAdmin: true });
    expect((await getTenant(store.db, first.tenantId))?.is_platform).toBe(true);

    const again = await ensureBootstrapAdmin(store.db, undefined);
    expect(again).toEqual({ tenantId: first.tenantId });

    const envKey = "operator-chosen-admin-key";
    expect(await ensureBootstrapAdmin(store.db, envKey)).toEqual({ tenantId: first.tenantId });
    expect(await ensureBootstrapAdmin(store.db, envKey)).toEqual({ tenantId: first.tenantId });
    const keys = await listApiKeys(store.db, first.tenantId);
    expect(keys.filter((k) => k.key_hash === sha256(envKey))).toHaveLength(1);
    expect(await findByKey(store.db, envKey)).toMatchObject({ tenantId: first.tenantId, isAdmin: true });
  });

  it("refuses to resurrect a revoked PATCHBAY_ADMIN_KEY", async () => {
    const envKey = "soon-revoked-admin-key";
    const { tenantId } = await ensureBootstrapAdmin(store.db, envKey);
    const principal = await findByKey(store.db, envKey);
    await revokeApiKey(store.db, tenantId, principal?.keyId ?? "");
    await expect(ensureBootstrapAdmin(store.db, envKey)).rejects.toThrow(/revoked/);
  });

  it("stores only the hash and a display prefix of a new key", async () => {
    const tenant = await createTenant(store.db, "acme");
    const { record, key } = await createApiKey(store.db, tenant.id, { name: "ci" });
    expect(key).toMatch(/^pb_[A-Za-z0-9_-]{43}$/);
    expect(record.key_hash).toBe(sha256(key));
    expect(record.key_prefix).toBe(key.slice(0, 8));
    expect(record.is_admin).toBe(false);
    const stored = await store.db.selectFrom("api_keys").selectAll().where("id", "=", record.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(JSON.stringify(toApiKeyResponse(record))).not.toContain(record.key_hash);
  });

  it("resolves a key to its tenant and stamps last_used_at", async () => {
    const tenant = await createTenant(store.db, "acme");
    const { record, key } = await createApiKey(store.db, tenant.id, { name: "app", isAdmin: false });
    expect(record.last_used_at).toBeNull();
    expect(await findByKey(store.db, key)).toEqual({ tenantId: tenant.id, keyId: record.id, isAdmin: false, isPlatformAdmin: false });
    const [after] = await listApiKeys(store.db, tenant.id);
    expect(after?.last_used_at).toBeInstanceOf(Date);
  });

  it("rejects unknown and revoked keys", async () => {
    const tenant = await createTenant(store.db, "acme");
    const { record, key } = await createApiKey(store.db, tenant.id, { name: "old" });
    expect(await findByKey(store.db, `${key}x`)).toBeNull();
    const revoked = await revokeApiKey(store.db, tenant.id, record.id);
    expect(revoked.revoked_at).toBeInstanceOf(Date);
    expect(await findByKey(store.db, key)).toBeNull();
    // Revoking again keeps the original time.
    expect((await revokeApiKey(store.db, tenant.id, record.id)).revoked_at).toEqual(revoked.revoked_at);
  });

  it("keeps key management inside the tenant", async () => {
    const a = await createTenant(store.db, "a");
    const b = await createTenant(store.db, "b");
    const { record } = await createApiKey(store.db, a.id, { name: "a-key" });
    await expect(revokeApiKey(store.db, b.id, record.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await listApiKeys(store.db, b.id)).toEqual([]);
    await expect(createApiKey(store.db, "00000000-0000-4000-8000-000000000000", { name: "x" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(createApiKey(store.db, "not-a-uuid", { name: "x" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("makes another tenant's admin key an admin of that tenant only, never of the platform", async () => {
    const { tenant, record, key } = await createTenantWithKey(store.db, "agency");
    expect(tenant.is_platform).toBe(false);
    expect(record.is_admin).toBe(true);
    expect(await findByKey(store.db, key)).toEqual({ tenantId: tenant.id, keyId: record.id, isAdmin: true, isPlatformAdmin: false });
    // Naming that key as PATCHBAY_ADMIN_KEY must not promote its tenant.
    await expect(ensureBootstrapAdmin(store.db, key)).rejects.toThrow(/already in use/);
    expect((await getTenant(store.db, tenant.id))?.is_platform).toBe(false);
  });

  it("refuses to revoke a tenant's last active admin key, also when two race", async () => {
    const { tenant, record } = await createTenantWithKey(store.db, "solo");
    await expect(revokeApiKey(store.db, tenant.id, record.id)).rejects.toBeInstanceOf(ConflictError);
    const second = await createApiKey(store.db, tenant.id, { name: "second admin", isAdmin: true });
    const results = await Promise.allSettled([revokeApiKey(store.db, tenant.id, record.id), revokeApiKey(store.db, tenant.id, second.record.id)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected" && r.reason instanceof ConflictError)).toHaveLength(1);
    // Non-admin keys and already-revoked keys are never the last admin.
    const plain = await createApiKey(store.db, tenant.id, { name: "plain" });
    expect((await revokeApiKey(store.db, tenant.id, plain.record.id)).revoked_at).toBeInstanceOf(Date);
    const revoked = results.find((r) => r.status === "fulfilled");
    if (revoked?.status === "fulfilled") expect((await revokeApiKey(store.db, tenant.id, revoked.value.id)).revoked_at).toEqual(revoked.value.revoked_at);
  });

  it("stores a tenant's Twilio auth token sealed, bound to that tenant", async () => {
    const encryptionKey = randomBytes(32);
    const a = await createTenant(store.db, "twilio-a");
    const b = await createTenant(store.db, "twilio-b");
    const creds = { accountSid: `AC${"1".repeat(32)}`, authToken: "f".repeat(32) };
    expect(await setTenantTwilio(store.db, encryptionKey, a.id, creds)).toBe(true);
    const raw = await store.db.selectFrom("tenants").selectAll().where("id", "=", a.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(raw)).not.toContain(creds.authToken);
    expect(raw.twilio_account_sid).toBe(creds.accountSid);
    expect(Object.keys((await getTenant(store.db, a.id)) ?? {})).toEqual(["id", "name", "is_platform", "created_at"]);
    const sealed = await getSealedTenantTwilio(store.db, a.id);
    expect(openTenantTwilioToken(encryptionKey, a.id, sealed?.sealedToken ?? "")).toBe(creds.authToken);
    // Copied onto another tenant's row, the sealed token no longer opens.
    expect(() => openTenantTwilioToken(encryptionKey, b.id, sealed?.sealedToken ?? "")).toThrow(/authentication/);
    expect(await getTenantTwilioSid(store.db, b.id)).toBeNull();
    expect(await clearTenantTwilio(store.db, a.id)).toBe(true);
    expect(await clearTenantTwilio(store.db, a.id)).toBe(false);
    expect(await getSealedTenantTwilio(store.db, a.id)).toBeNull();
    expect(await setTenantTwilio(store.db, encryptionKey, "00000000-0000-4000-8000-000000000000", creds)).toBe(false);
  });
});

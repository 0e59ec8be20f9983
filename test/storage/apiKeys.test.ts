import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createApiKey,
  createTenant,
  ensureBootstrapAdmin,
  findByKey,
  listApiKeys,
  NotFoundError,
  revokeApiKey,
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
    expect(await findByKey(store.db, first.generatedKey ?? "")).toMatchObject({ tenantId: first.tenantId, isAdmin: true });

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
    expect(await findByKey(store.db, key)).toEqual({ tenantId: tenant.id, keyId: record.id, isAdmin: false });
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
});

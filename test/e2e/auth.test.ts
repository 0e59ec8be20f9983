import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyResponse } from "../../src/storage/index.js";
import { twilioAuthTokenFor, twilioCredentialsFor, TwilioCredentialsError } from "../../src/twilio/credentials.js";
import { ACCOUNT_SID, ADMIN_KEY, AUTH_TOKEN, startServerHarness, type ServerHarness } from "./harness.js";

/** The API's key as the tests read it: the stored fields, plus the full key on creation only. */
type ApiKeyBody = ApiKeyResponse & { key?: string };
interface ErrorBody {
  error: string;
  message: string;
  request_id: string;
}
interface TenantBody {
  id: string;
  name: string;
  is_platform: boolean;
}
interface CreatedTenant {
  tenant: TenantBody;
  api_key: ApiKeyBody & { key: string };
}

const ENCRYPTION_KEY = randomBytes(32).toString("hex");
const TENANT_SID = `AC${"ab".repeat(16)}`;
const TENANT_TOKEN = "0123456789abcdef".repeat(2);

describe("tenants and API keys", () => {
  let h: ServerHarness;
  /** A tenant the platform admin created through the API, and its first (admin) key. */
  let acme: CreatedTenant;
  beforeAll(async () => {
    h = await startServerHarness({ agent: { voice_provider: "scripted" }, env: { PATCHBAY_ENCRYPTION_KEY: ENCRYPTION_KEY } });
    const created = await h.api<CreatedTenant>("POST", "/tenants", { name: "Acme" });
    expect(created.status).toBe(201);
    acme = created.body;
  });
  afterAll(async () => h?.close());

  it("documents every route with its tag, summary and responses", async () => {
    const doc = (await (await fetch(`${h.server.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[]; summary?: string; responses?: Record<string, unknown> }>>;
    };
    const routes: [string, string, string][] = [
      ["/auth/api-keys", "get", "auth"],
      ["/auth/api-keys", "post", "auth"],
      ["/auth/api-keys/{id}/revoke", "post", "auth"],
      ["/tenants", "get", "tenants"],
      ["/tenants", "post", "tenants"],
      ["/tenants/me", "get", "tenants"],
      ["/tenants/me/twilio", "put", "tenants"],
      ["/tenants/me/twilio", "get", "tenants"],
      ["/tenants/me/twilio", "delete", "tenants"],
    ];
    for (const [path, method, tag] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op?.tags, `${method} ${path}`).toEqual([tag]);
      expect(op?.summary, `${method} ${path}`).toBeTruthy();
      expect(Object.keys(op?.responses ?? {}), `${method} ${path}`).toEqual(expect.arrayContaining(["401"]));
    }
  });

  describe("API keys", () => {
    it("creates a key shown once in full, which then works and is listed without secrets", async () => {
      const created = await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "zapier" });
      expect(created.status).toBe(201);
      const key = created.body.key ?? "";
      expect(key).toMatch(/^pb_/);
      expect(created.body).toMatchObject({ name: "zapier", is_admin: false, key_prefix: key.slice(0, 8), tenant_id: h.tenantId, revoked_at: null });

      const listed = await h.api<{ api_keys: ApiKeyBody[]; total: number }>("GET", "/auth/api-keys", undefined, key);
      expect(listed.status).toBe(200);
      const mine = listed.body.api_keys.find((k) => k.id === created.body.id);
      expect(mine).toEqual({ ...created.body, key: undefined, last_used_at: expect.any(String) as unknown });
      expect(Object.keys(mine ?? {}).sort()).toEqual(["created_at", "id", "is_admin", "key_prefix", "last_used_at", "name", "revoked_at", "tenant_id"]);
      expect(JSON.stringify(listed.body)).not.toContain(key);
      expect(JSON.stringify(listed.body)).not.toMatch(/hash|[0-9a-f]{64}/);
      expect(listed.body.api_keys.every((k) => k.tenant_id === h.tenantId)).toBe(true);
    });

    it("revokes a key: 401 from then on, and revoking twice is fine", async () => {
      const created = await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "short-lived" });
      const key = created.body.key ?? "";
      const revoked = await h.api<ApiKeyBody>("POST", `/auth/api-keys/${created.body.id}/revoke`);
      expect(revoked.status).toBe(200);
      expect(revoked.body.revoked_at).not.toBeNull();
      expect((await h.api("GET", "/agents", undefined, key)).status).toBe(401);
      const again = await h.api<ApiKeyBody>("POST", `/auth/api-keys/${created.body.id}/revoke`);
      expect(again.status).toBe(200);
      expect(again.body.revoked_at).toBe(revoked.body.revoked_at);
    });

    it("lets a key revoke itself", async () => {
      const created = await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "self" });
      const key = created.body.key ?? "";
      expect((await h.api("POST", `/auth/api-keys/${created.body.id}/revoke`, undefined, key)).status).toBe(200);
      expect((await h.api("GET", "/auth/api-keys", undefined, key)).status).toBe(401);
    });

    it("answers 404 for another tenant's key and leaves it alone", async () => {
      const res = await h.api<ErrorBody>("POST", `/auth/api-keys/${acme.api_key.id}/revoke`);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: "not_found", message: "api key not found" });
      expect((await h.api("GET", "/auth/api-keys", undefined, acme.api_key.key)).status).toBe(200);
      expect((await h.api("POST", "/auth/api-keys/not-a-uuid/revoke")).status).toBe(404);
    });

    it("refuses to revoke the tenant's last active admin key, and explains", async () => {
      const { tenant, api_key } = (await h.api<CreatedTenant>("POST", "/tenants", { name: "Solo" })).body;
      const refused = await h.api<ErrorBody>("POST", `/auth/api-keys/${api_key.id}/revoke`, undefined, api_key.key);
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: "conflict", message: expect.stringMatching(/last active admin key.*create another admin key/) as unknown });
      expect((await h.api("GET", "/agents", undefined, api_key.key)).status).toBe(200);

      const second = await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "second admin", is_admin: true }, api_key.key);
      expect(second.status).toBe(201);
      expect(second.body).toMatchObject({ is_admin: true, tenant_id: tenant.id });
      expect((await h.api("POST", `/auth/api-keys/${api_key.id}/revoke`, undefined, api_key.key)).status).toBe(200);
      expect((await h.api("GET", "/agents", undefined, api_key.key)).status).toBe(401);
    });

    it("lets only admin keys create keys or revoke admin keys", async () => {
      const plain = (await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "plain" }, acme.api_key.key)).body;
      const plainKey = plain.key ?? "";
      const create = await h.api<ErrorBody>("POST", "/auth/api-keys", { name: "escalate", is_admin: true }, plainKey);
      expect(create.status).toBe(403);
      expect(create.body.message).toMatch(/admin API key/);
      const revoke = await h.api<ErrorBody>("POST", `/auth/api-keys/${acme.api_key.id}/revoke`, undefined, plainKey);
      expect(revoke.status).toBe(403);
      // Nor any key: a leaked ordinary key that could mint another would outlive its own revocation.
      expect((await h.api("POST", "/auth/api-keys", { name: "helper" }, plainKey)).status).toBe(403);
    });

    it("validates the body", async () => {
      const res = await h.api<{ detail: { loc: string[] }[] }>("POST", "/auth/api-keys", { name: "", is_admin: "yes", extra: 1 });
      expect(res.status).toBe(422);
      expect(res.body.detail.map((d) => d.loc.join("."))).toEqual(expect.arrayContaining(["body.is_admin"]));
      expect((await h.api("POST", "/auth/api-keys", {})).status).toBe(422);
    });
  });

  describe("tenants", () => {
    it("gives the created tenant a working admin key that sees only its own data", async () => {
      expect(acme.tenant).toMatchObject({ name: "Acme", is_platform: false });
      expect(acme.api_key).toMatchObject({ tenant_id: acme.tenant.id, is_admin: true });
      const key = acme.api_key.key;
      expect((await h.api<TenantBody>("GET", "/tenants/me", undefined, key)).body).toMatchObject({ id: acme.tenant.id, name: "Acme" });
      expect((await h.api<{ agents: unknown[] }>("GET", "/agents", undefined, key)).body.agents).toEqual([]);
      expect((await h.api("GET", `/agents/${h.agentId}`, undefined, key)).status).toBe(404);
      const keys = await h.api<{ api_keys: ApiKeyBody[] }>("GET", "/auth/api-keys", undefined, key);
      expect(keys.body.api_keys.every((k) => k.tenant_id === acme.tenant.id)).toBe(true);
      // Its data stays out of the platform tenant's view too.
      const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Acme desk", system_prompt: "Hi." }, key);
      expect(agent.status).toBe(201);
      expect((await h.api("GET", `/agents/${agent.body.id}`)).status).toBe(404);
    });

    it("lets only the platform admin create or list tenants", async () => {
      const listed = await h.api<{ tenants: TenantBody[]; total: number }>("GET", "/tenants");
      expect(listed.status).toBe(200);
      expect(listed.body.tenants.map((t) => t.id)).toEqual(expect.arrayContaining([h.tenantId, acme.tenant.id]));
      expect(listed.body.tenants.find((t) => t.id === h.tenantId)?.is_platform).toBe(true);

      // Another tenant's admin key administers that tenant only.
      const create = await h.api<ErrorBody>("POST", "/tenants", { name: "Sneaky" }, acme.api_key.key);
      expect(create.status).toBe(403);
      expect(create.body).toMatchObject({ error: "forbidden", message: expect.stringMatching(/platform admin/) as unknown });
      expect((await h.api("GET", "/tenants", undefined, acme.api_key.key)).status).toBe(403);
      // So does a non-admin key of the platform tenant.
      const plain = (await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "platform plain" })).body.key ?? "";
      expect((await h.api("POST", "/tenants", { name: "Sneaky" }, plain)).status).toBe(403);
      expect((await h.api<{ total: number }>("GET", "/tenants")).body.total).toBe(listed.body.total);
    });

    it("validates the tenant name", async () => {
      expect((await h.api("POST", "/tenants", { name: "   " })).status).toBe(422);
      expect((await h.api("POST", "/tenants", {})).status).toBe(422);
    });
  });

  describe("per-tenant Twilio credentials", () => {
    it("stores the auth token encrypted and never returns it", async () => {
      const key = acme.api_key.key;
      expect((await h.api("GET", "/tenants/me/twilio", undefined, key)).body).toEqual({ account_sid: null, configured: false });
      const put = await h.api("PUT", "/tenants/me/twilio", { account_sid: TENANT_SID, auth_token: TENANT_TOKEN }, key);
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ account_sid: TENANT_SID, configured: true });
      const got = await h.api("GET", "/tenants/me/twilio", undefined, key);
      expect(got.body).toEqual({ account_sid: TENANT_SID, configured: true });

      const row = await h.server.store.db.selectFrom("tenants").selectAll().where("id", "=", acme.tenant.id).executeTakeFirstOrThrow();
      expect(row.twilio_account_sid).toBe(TENANT_SID);
      expect(row.twilio_auth_token_enc).toMatch(/^v1\./);
      expect(JSON.stringify(row)).not.toContain(TENANT_TOKEN);
      expect(JSON.stringify(row)).not.toContain(Buffer.from(TENANT_TOKEN).toString("base64"));
      // Listing tenants shows no credentials either.
      expect(JSON.stringify((await h.api("GET", "/tenants")).body)).not.toMatch(/twilio|v1\./);
    });

    it("is what twilioCredentialsFor and twilioAuthTokenFor return; other tenants keep the environment's", async () => {
      const { db } = h.server.store;
      const { config } = h.server;
      expect(await twilioCredentialsFor(db, config, acme.tenant.id)).toEqual({ accountSid: TENANT_SID, authToken: TENANT_TOKEN });
      expect(await twilioAuthTokenFor(db, config, acme.tenant.id)).toBe(TENANT_TOKEN);
      expect(await twilioCredentialsFor(db, config, h.tenantId)).toEqual({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
      const noEnv = { ...config, twilio: { ...config.twilio, accountSid: undefined, authToken: undefined } };
      expect(await twilioCredentialsFor(db, noEnv, h.tenantId)).toBeNull();
      expect(await twilioAuthTokenFor(db, noEnv, h.tenantId)).toBeUndefined();
      expect(await twilioCredentialsFor(db, noEnv, acme.tenant.id)).toEqual({ accountSid: TENANT_SID, authToken: TENANT_TOKEN });
    });

    it("fails loudly, never falling back, when the stored token can't be decrypted", async () => {
      const { db } = h.server.store;
      const { config } = h.server;
      const noKey = twilioCredentialsFor(db, { ...config, encryptionKey: undefined }, acme.tenant.id);
      await expect(noKey).rejects.toBeInstanceOf(TwilioCredentialsError);
      await expect(noKey).rejects.toThrow(/PATCHBAY_ENCRYPTION_KEY is not set/);
      await expect(twilioCredentialsFor(db, { ...config, encryptionKey: randomBytes(32) }, acme.tenant.id)).rejects.toThrow(/different key/);
    });

    it("validates the SID and token, and lets only admin keys change them", async () => {
      const bad = await h.api<{ detail: { loc: string[] }[] }>("PUT", "/tenants/me/twilio", { account_sid: "AB123", auth_token: "nope" }, acme.api_key.key);
      expect(bad.status).toBe(422);
      expect(bad.body.detail.map((d) => d.loc.join("."))).toEqual(expect.arrayContaining(["body.account_sid", "body.auth_token"]));
      expect(JSON.stringify(bad.body)).not.toContain("nope");
      const plain = (await h.api<ApiKeyBody>("POST", "/auth/api-keys", { name: "reader" }, acme.api_key.key)).body.key ?? "";
      expect((await h.api("PUT", "/tenants/me/twilio", { account_sid: TENANT_SID, auth_token: TENANT_TOKEN }, plain)).status).toBe(403);
      expect((await h.api("DELETE", "/tenants/me/twilio", undefined, plain)).status).toBe(403);
      expect((await h.api("GET", "/tenants/me/twilio", undefined, plain)).body).toEqual({ account_sid: TENANT_SID, configured: true });
    });

    it("forgets them on DELETE; only the platform tenant falls back to the environment's account", async () => {
      const key = acme.api_key.key;
      const deleted = await h.api("DELETE", "/tenants/me/twilio", undefined, key);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ account_sid: null, configured: false });
      expect((await h.api("DELETE", "/tenants/me/twilio", undefined, key)).status).toBe(200);
      // Another tenant on the operator's account would be billed to it and could read its recordings.
      expect(await twilioCredentialsFor(h.server.store.db, h.server.config, acme.tenant.id)).toBeNull();
      expect(await twilioCredentialsFor(h.server.store.db, h.server.config, h.tenantId)).toEqual({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    });
  });
});

describe("per-tenant Twilio credentials without PATCHBAY_ENCRYPTION_KEY", () => {
  let h: ServerHarness;
  beforeAll(async () => {
    h = await startServerHarness({ agent: { voice_provider: "scripted" } });
  });
  afterAll(async () => h?.close());

  it("refuses to store them, naming the variable to set", async () => {
    const res = await h.api<ErrorBody>("PUT", "/tenants/me/twilio", { account_sid: TENANT_SID, auth_token: TENANT_TOKEN }, ADMIN_KEY);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: "encryption_key_missing", message: expect.stringContaining("PATCHBAY_ENCRYPTION_KEY") as unknown });
    expect((await h.api("GET", "/tenants/me/twilio")).body).toEqual({ account_sid: null, configured: false });
  });
});

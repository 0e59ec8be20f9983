import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  attachFunction,
  ConflictError,
  createAgent,
  createFunction,
  createTenant,
  deleteAgent,
  deleteFunction,
  detachFunction,
  getAgentFunction,
  getFunction,
  getFunctionWithAgents,
  getWebhookSecret,
  listAgentFunctions,
  listCallableFunctions,
  listFunctions,
  NotFoundError,
  rotateWebhookSecret,
  setAttachmentEnabled,
  toFunctionResponse,
  updateFunction,
  type Db,
} from "../../src/storage/index.js";
import { storageBackends } from "./backends.js";

const fn = (name: string) => ({ name, description: `does ${name}`, webhook_url: "https://example.com/hook" });

describe.each(storageBackends)("custom functions on $kind", (backend) => {
  let store: Db;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    await store.close();
  });

  it("stores a function with the reference's defaults and a unique name per tenant", async () => {
    const tenant = await createTenant(store.db, "acme");
    const other = await createTenant(store.db, "other");
    const row = await createFunction(store.db, tenant.id, { ...fn("check_stock"), webhook_headers: { Authorization: "Bearer x" } });
    expect(toFunctionResponse(row)).toMatchObject({
      agent_id: null,
      parameters: { type: "object", properties: {} },
      webhook_method: "POST",
      webhook_headers: { Authorization: "Bearer x" },
      webhook_timeout_ms: 5000,
      is_enabled: true,
      speak_during_execution: true,
    });
    await expect(createFunction(store.db, tenant.id, fn("check_stock"))).rejects.toBeInstanceOf(ConflictError);
    // Names are per tenant.
    await createFunction(store.db, other.id, fn("check_stock"));
    const updated = await updateFunction(store.db, tenant.id, row.id, { parameters: { type: "object", properties: { a: { type: "string" } } } });
    expect(updated.parameters).toEqual({ type: "object", properties: { a: { type: "string" } } });
    expect(updated.updated_at.getTime()).toBeGreaterThanOrEqual(row.updated_at.getTime());
  });

  it("keeps functions and attachments inside their tenant", async () => {
    const tenant = await createTenant(store.db, "acme");
    const other = await createTenant(store.db, "other");
    const agent = await createAgent(store.db, tenant.id, { name: "Desk" });
    const theirAgent = await createAgent(store.db, other.id, { name: "Theirs" });
    const mine = await createFunction(store.db, tenant.id, fn("mine"));
    const theirs = await createFunction(store.db, other.id, fn("theirs"));

    expect(await getFunction(store.db, other.id, mine.id)).toBeNull();
    expect(await listFunctions(store.db, other.id)).toHaveLength(1);
    await expect(updateFunction(store.db, other.id, mine.id, { description: "x" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteFunction(store.db, other.id, mine.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(attachFunction(store.db, tenant.id, agent.id, theirs.id)).rejects.toMatchObject({ entity: "function" });
    await expect(attachFunction(store.db, tenant.id, theirAgent.id, mine.id)).rejects.toMatchObject({ entity: "agent" });
    await expect(attachFunction(store.db, other.id, theirAgent.id, mine.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(listAgentFunctions(store.db, other.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);

    await attachFunction(store.db, tenant.id, agent.id, mine.id);
    expect(await getAgentFunction(store.db, other.id, agent.id, mine.id)).toBeNull();
    await expect(setAttachmentEnabled(store.db, other.id, agent.id, mine.id, false)).rejects.toBeInstanceOf(NotFoundError);
    await expect(detachFunction(store.db, other.id, agent.id, mine.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await listCallableFunctions(store.db, other.id, agent.id)).toEqual([]);
    expect((await listCallableFunctions(store.db, tenant.id, agent.id)).map((f) => f.name)).toEqual(["mine"]);
  });

  it("lists attached and available, callable only when both switches are on, and cascades deletes", async () => {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, { name: "Desk" });
    const a = await createFunction(store.db, tenant.id, fn("a_fn"));
    const b = await createFunction(store.db, tenant.id, { ...fn("b_fn"), is_enabled: false });
    const c = await createFunction(store.db, tenant.id, fn("c_fn"));
    await createFunction(store.db, tenant.id, fn("d_fn"));
    await attachFunction(store.db, tenant.id, agent.id, a.id);
    await attachFunction(store.db, tenant.id, agent.id, b.id);
    await attachFunction(store.db, tenant.id, agent.id, c.id, false);
    await expect(attachFunction(store.db, tenant.id, agent.id, a.id)).rejects.toBeInstanceOf(ConflictError);

    const lists = await listAgentFunctions(store.db, tenant.id, agent.id);
    expect(lists.attached.map((f) => [f.name, f.attachment_enabled])).toEqual([["a_fn", true], ["b_fn", true], ["c_fn", false]]);
    expect(lists.available.map((f) => f.name)).toEqual(["d_fn"]);
    expect((await listCallableFunctions(store.db, tenant.id, agent.id)).map((f) => f.name)).toEqual(["a_fn"]);
    await setAttachmentEnabled(store.db, tenant.id, agent.id, c.id, true);
    expect((await listCallableFunctions(store.db, tenant.id, agent.id)).map((f) => f.name)).toEqual(["a_fn", "c_fn"]);
    expect((await getFunctionWithAgents(store.db, tenant.id, a.id))?.agents).toEqual([
      { agent_id: agent.id, agent_name: "Desk", is_enabled: true, attached_at: expect.any(Date) as Date },
    ]);

    await deleteFunction(store.db, tenant.id, a.id);
    expect((await listAgentFunctions(store.db, tenant.id, agent.id)).attached.map((f) => f.name)).toEqual(["b_fn", "c_fn"]);
    await detachFunction(store.db, tenant.id, agent.id, b.id);
    expect(await getFunction(store.db, tenant.id, b.id)).not.toBeNull();
    await deleteAgent(store.db, tenant.id, agent.id);
    // The attachment went with the agent; the function stays in the library.
    expect((await getFunctionWithAgents(store.db, tenant.id, c.id))?.agents).toEqual([]);
  });

  it("generates the webhook secret once, per tenant, and rotates it", async () => {
    const tenant = await createTenant(store.db, "acme");
    const other = await createTenant(store.db, "other");
    const [first, second] = await Promise.all([getWebhookSecret(store.db, tenant.id), getWebhookSecret(store.db, tenant.id)]);
    expect(first).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(second).toBe(first);
    expect(await getWebhookSecret(store.db, other.id)).not.toBe(first);
    const rotated = await rotateWebhookSecret(store.db, tenant.id);
    expect(rotated).not.toBe(first);
    expect(await getWebhookSecret(store.db, tenant.id)).toBe(rotated);
    await expect(getWebhookSecret(store.db, "00000000-0000-4000-8000-000000000000")).rejects.toBeInstanceOf(NotFoundError);
  });
});

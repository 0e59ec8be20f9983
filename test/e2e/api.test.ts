import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant } from "../../src/storage/index.js";
import { startHarness, type Harness } from "./harness.js";

describe("control plane", () => {
  let h: Harness;
  let otherKey: string;
  beforeAll(async () => {
    h = await startHarness();
    const other = await createTenant(h.server.store.db, "other");
    otherKey = (await createApiKey(h.server.store.db, other.id, { name: "other", isAdmin: false })).key;
  });
  afterAll(async () => h?.close());

  it("needs an API key, by X-API-Key or Bearer, before looking at the request", async () => {
    expect((await fetch(`${h.server.url}/agents`)).status).toBe(401);
    // No key: a 401, not a 422 that would describe the schema.
    const noKey = await fetch(`${h.server.url}/agents`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(noKey.status).toBe(401);
    expect((await h.api("GET", "/agents", undefined, "pb_wrong")).status).toBe(401);
    const bearer = await fetch(`${h.server.url}/agents`, { headers: { authorization: `Bearer ${otherKey}` } });
    expect(bearer.status).toBe(200);
  });

  it("creates and reads agents with the reference's defaults", async () => {
    const created = await h.api<Record<string, unknown>>("POST", "/agents", { name: "Sales", system_prompt: "Sell." });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Sales",
      system_prompt: "Sell.",
      voice_provider: "openai",
      openai_voice: "alloy",
      temperature: 0.7,
      ai_speaks_first: true,
      is_active: true,
      tenant_id: h.tenantId,
    });
    const got = await h.api("GET", `/agents/${String(created.body.id)}`);
    expect(got.body).toEqual(created.body);
    const list = await h.api<{ agents: unknown[] }>("GET", "/agents");
    expect(list.body.agents.length).toBeGreaterThanOrEqual(2);
  });

  it("answers 422 with a detail naming each bad field", async () => {
    const res = await h.api<{ detail: { loc: string[]; msg: string; type: string }[] }>("POST", "/agents", {
      system_prompt: "x",
      temperature: 9,
      openai_voice: "robot",
    });
    expect(res.status).toBe(422);
    const locs = res.body.detail.map((d) => d.loc.join("."));
    expect(locs).toEqual(expect.arrayContaining(["body.name", "body.temperature", "body.openai_voice"]));
    const bad = await h.api<{ detail: { loc: string[] }[] }>("POST", "/phone-numbers", { phone_number: "555-1234" });
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0]?.loc).toEqual(["body", "phone_number"]);
  });

  it("keeps tenants apart: another tenant's agent and call are 404", async () => {
    const mine = await h.api<{ agents: { id: string }[] }>("GET", "/agents");
    const id = mine.body.agents[0]!.id;
    expect((await h.api("GET", `/agents/${id}`, undefined, otherKey)).status).toBe(404);
    const theirs = await h.api<{ agents: unknown[] }>("GET", "/agents", undefined, otherKey);
    expect(theirs.body.agents).toEqual([]);
    expect((await h.api("GET", "/agents/not-a-uuid")).status).toBe(404);
    const calls = await h.api<{ calls: unknown[]; total: number }>("GET", "/calls", undefined, otherKey);
    expect(calls.body).toEqual({ calls: [], total: 0 });
    // Assigning someone else's agent to a number is refused without confirming it exists.
    const assign = await h.api("POST", "/phone-numbers", { phone_number: "+15550100777", agent_id: id }, otherKey);
    expect(assign.status).toBe(422);
  });

  it("refuses a number that is already registered (409)", async () => {
    const again = await h.api("POST", "/phone-numbers", { phone_number: "+15550100001" }, otherKey);
    expect(again.status).toBe(409);
  });

  it("serves the OpenAPI document", async () => {
    const res = await fetch(`${h.server.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/agents", "/calls/{id}", "/webhooks/twilio/{tenantId}/voice"]));
  });
});

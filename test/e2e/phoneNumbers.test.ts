import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createTenant, type PhoneNumberResponse } from "../../src/storage/index.js";
import { ADMIN_KEY, AGENT_NUMBER, startHarness, type Harness } from "./harness.js";

type PhoneNumber = PhoneNumberResponse;
interface NumberList {
  phone_numbers: PhoneNumber[];
  total: number;
}
interface ErrorBody {
  error: string;
  message: string;
  detail?: { loc: (string | number)[]; msg: string; type: string }[];
}

let seq = 0;
const nextNumber = () => `+1628555${String(1000 + seq++).padStart(4, "0")}`;
const locs = (body: ErrorBody) => (body.detail ?? []).map((d) => d.loc.join("."));

describe("phone numbers API", () => {
  let h: Harness;
  let otherKey: string;
  let otherAgentId: string;
  let otherTenantId: string;
  beforeAll(async () => {
    h = await startHarness();
    const other = await createTenant(h.server.store.db, "other");
    otherTenantId = other.id;
    otherKey = (await createApiKey(h.server.store.db, other.id, { name: "other", isAdmin: false })).key;
    const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Other desk", system_prompt: "p" }, otherKey);
    otherAgentId = agent.body.id;
  });
  afterAll(async () => h?.close());

  const create = (body: unknown, key?: string) => h.api<PhoneNumber & ErrorBody>("POST", "/phone-numbers", body, key);

  it("registers a number and lists the tenant's numbers newest first", async () => {
    const phone_number = nextNumber();
    const created = await create({ phone_number, agent_id: h.agentId, friendly_name: "Sales line", twilio_sid: "PN" + "a".repeat(32) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      phone_number,
      tenant_id: h.tenantId,
      agent_id: h.agentId,
      friendly_name: "Sales line",
      twilio_sid: "PN" + "a".repeat(32),
      is_active: true,
    });
    expect(new Date(created.body.created_at).toISOString()).toBe(created.body.created_at);
    const list = await h.api<NumberList>("GET", "/phone-numbers");
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(list.body.phone_numbers.length);
    expect(list.body.phone_numbers[0]).toEqual(created.body);
    expect(list.body.phone_numbers.map((n) => n.phone_number)).toContain(AGENT_NUMBER);
  });

  it("answers 422 naming the field for bad numbers and bad fields", async () => {
    for (const phone_number of ["555-1234", "+0155501000", "+1 415 555 0100", "14155550100", "+1234567890123456", ""]) {
      const res = await create({ phone_number });
      expect(res.status, phone_number).toBe(422);
      expect(locs(res.body)).toEqual(["body.phone_number"]);
    }
    const cases: [unknown, string][] = [
      [{}, "body.phone_number"],
      [{ phone_number: nextNumber(), agent_id: "not-a-uuid" }, "body.agent_id"],
      [{ phone_number: nextNumber(), friendly_name: "x".repeat(201) }, "body.friendly_name"],
      [{ phone_number: nextNumber(), twilio_sid: "PN123" }, "body.twilio_sid"],
      [{ phone_number: nextNumber(), tenant_id: h.tenantId }, "body.tenant_id"],
    ];
    for (const [body, loc] of cases) {
      const res = await create(body);
      expect(res.status, loc).toBe(422);
      expect(locs(res.body), loc).toContain(loc);
    }
  });

  it("answers 422 for a value of the wrong JSON type instead of letting it be coerced", async () => {
    const made = await create({ phone_number: nextNumber(), friendly_name: 5, agent_id: 7 });
    expect(made.status).toBe(422);
    expect(locs(made.body).sort()).toEqual(["body.agent_id", "body.friendly_name"]);
    expect(made.body.message).toContain("body.agent_id: must be string or null");
    const ok = await create({ phone_number: nextNumber() });
    expect(ok.status).toBe(201);
    // ajv alone would take 1 as true.
    const patched = await h.api<PhoneNumber & ErrorBody>("PATCH", `/phone-numbers/${ok.body.id}`, { is_active: 1 });
    expect(patched.status).toBe(422);
    expect(locs(patched.body)).toEqual(["body.is_active"]);
    const list = await h.api<NumberList>("GET", "/phone-numbers");
    expect(list.body.phone_numbers.find((n) => n.id === ok.body.id)?.is_active).toBe(true);
  });

  it("refuses another tenant's agent with a 422 naming agent_id, and registers nothing", async () => {
    const phone_number = nextNumber();
    const res = await create({ phone_number, agent_id: otherAgentId });
    expect(res.status).toBe(422);
    expect(locs(res.body)).toEqual(["body.agent_id"]);
    const list = await h.api<NumberList>("GET", "/phone-numbers");
    expect(list.body.phone_numbers.map((n) => n.phone_number)).not.toContain(phone_number);
  });

  it("answers a number held here and one held by another tenant identically", async () => {
    const mine = nextNumber();
    expect((await create({ phone_number: mine })).status).toBe(201);
    const theirs = nextNumber();
    expect((await create({ phone_number: theirs }, otherKey)).status).toBe(201);

    const clashHere = await create({ phone_number: mine });
    const clashThere = await create({ phone_number: theirs });
    expect(clashHere.status).toBe(409);
    expect(clashThere.status).toBe(409);
    // Same words either way, naming the field and nothing about who holds the number.
    expect({ ...clashThere.body, request_id: undefined }).toEqual({ ...clashHere.body, request_id: undefined });
    expect(locs(clashThere.body)).toEqual(["body.phone_number"]);
    expect(JSON.stringify(clashThere.body)).not.toContain(otherTenantId);
  });

  it("assigns, unassigns, renames and deactivates a number", async () => {
    const created = await create({ phone_number: nextNumber() });
    const id = created.body.id;
    const assign = await h.api<PhoneNumber>("PATCH", `/phone-numbers/${id}`, { agent_id: h.agentId, friendly_name: "Front" });
    expect(assign.status).toBe(200);
    expect(assign.body).toMatchObject({ id, agent_id: h.agentId, friendly_name: "Front", is_active: true });
    const off = await h.api<PhoneNumber>("PATCH", `/phone-numbers/${id}`, { is_active: false });
    expect(off.body).toMatchObject({ agent_id: h.agentId, friendly_name: "Front", is_active: false });
    const unassign = await h.api<PhoneNumber>("PATCH", `/phone-numbers/${id}`, { agent_id: null, friendly_name: null });
    expect(unassign.body).toMatchObject({ agent_id: null, friendly_name: null, is_active: false });
    const same = await h.api<PhoneNumber>("PATCH", `/phone-numbers/${id}`, {});
    expect(same.status).toBe(200);
    expect(same.body).toEqual(unassign.body);
  });

  it("answers 422 naming the field for bad patches, and 404 for unknown ids", async () => {
    const { body: number } = await create({ phone_number: nextNumber(), agent_id: h.agentId });
    const cases: [unknown, string][] = [
      [{ agent_id: "nope" }, "body.agent_id"],
      [{ is_active: "maybe" }, "body.is_active"],
      [{ friendly_name: { name: "x" } }, "body.friendly_name"],
      [{ phone_number: nextNumber() }, "body.phone_number"],
      [{ agent_id: otherAgentId }, "body.agent_id"],
      [{ agent_id: "00000000-0000-4000-8000-000000000000" }, "body.agent_id"],
    ];
    for (const [body, loc] of cases) {
      const res = await h.api<ErrorBody>("PATCH", `/phone-numbers/${number.id}`, body);
      expect(res.status, loc).toBe(422);
      expect(locs(res.body), loc).toContain(loc);
    }
    const after = await h.api<NumberList>("GET", "/phone-numbers");
    expect(after.body.phone_numbers.find((n) => n.id === number.id)).toEqual(number);
    expect((await h.api("PATCH", "/phone-numbers/not-a-uuid", { friendly_name: "x" })).status).toBe(404);
    expect((await h.api("PATCH", "/phone-numbers/00000000-0000-4000-8000-000000000000", { friendly_name: "x" })).status).toBe(404);
    expect((await h.api("DELETE", "/phone-numbers/not-a-uuid")).status).toBe(404);
  });

  it("deletes a number, frees it for registration, and 404s a second delete", async () => {
    const phone_number = nextNumber();
    const { body: number } = await create({ phone_number });
    const del = await fetch(`${h.server.url}/phone-numbers/${number.id}`, { method: "DELETE", headers: { "x-api-key": ADMIN_KEY } });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    expect((await h.api("DELETE", `/phone-numbers/${number.id}`)).status).toBe(404);
    expect((await create({ phone_number }, otherKey)).status).toBe(201);
  });

  it("lists an agent's numbers, and 404s another tenant's agent", async () => {
    const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Night desk", system_prompt: "p" });
    const first = await create({ phone_number: nextNumber(), agent_id: agent.body.id });
    const second = await create({ phone_number: nextNumber(), agent_id: agent.body.id });
    await create({ phone_number: nextNumber() });
    const list = await h.api<NumberList>("GET", `/agents/${agent.body.id}/phone-numbers`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ phone_numbers: [first.body, second.body], total: 2 });
    const empty = await h.api<NumberList>("GET", `/agents/${otherAgentId}/phone-numbers`, undefined, otherKey);
    expect(empty.body).toEqual({ phone_numbers: [], total: 0 });

    expect((await h.api("GET", `/agents/${agent.body.id}/phone-numbers`, undefined, otherKey)).status).toBe(404);
    expect((await h.api("GET", `/agents/${otherAgentId}/phone-numbers`)).status).toBe(404);
    expect((await h.api("GET", "/agents/not-a-uuid/phone-numbers")).status).toBe(404);
  });

  it("keeps tenants apart: another tenant's number is 404 for every change, and nothing changes", async () => {
    const { body: mine } = await create({ phone_number: nextNumber(), agent_id: h.agentId, friendly_name: "Mine" });
    const patch = await h.api<ErrorBody>("PATCH", `/phone-numbers/${mine.id}`, { friendly_name: "Stolen", agent_id: otherAgentId }, otherKey);
    expect(patch.status).toBe(404);
    expect(patch.body.message).toBe("phone number not found");
    expect((await h.api("PATCH", `/phone-numbers/${mine.id}`, { is_active: false }, otherKey)).status).toBe(404);
    expect((await h.api("DELETE", `/phone-numbers/${mine.id}`, undefined, otherKey)).status).toBe(404);
    const theirs = await h.api<NumberList>("GET", "/phone-numbers", undefined, otherKey);
    expect(theirs.body.phone_numbers.map((n) => n.id)).not.toContain(mine.id);
    const after = await h.api<NumberList>("GET", "/phone-numbers");
    expect(after.body.phone_numbers.find((n) => n.id === mine.id)).toEqual(mine);
  });

  it("needs an API key", async () => {
    expect((await fetch(`${h.server.url}/phone-numbers`)).status).toBe(401);
    expect((await h.api("DELETE", "/phone-numbers/00000000-0000-4000-8000-000000000000", undefined, "pb_wrong")).status).toBe(401);
  });
});


import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConflictError,
  createAgent,
  createCallLog,
  createPhoneNumber,
  createTenant,
  deleteAgent,
  findActiveByNumber,
  getAgent,
  getCallLog,
  getPhoneNumber,
  listAgents,
  listCallLogs,
  listPhoneNumbers,
  NotFoundError,
  toAgentResponse,
  toggleAgent,
  toPhoneNumberResponse,
  updateAgent,
  updatePhoneNumber,
  type Db,
} from "../../src/storage/index.js";
import { storageBackends } from "./backends.js";

let numberSeq = 0;
/** A fresh E.164 number per call, since numbers are unique across all tenants. */
const nextNumber = () => `+1415555${String(1000 + numberSeq++).padStart(4, "0")}`;

describe.each(storageBackends)("agents, numbers and tenant isolation on $kind", (backend) => {
  let store: Db;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    await store.close();
  });

  it("creates an agent with the documented defaults", async () => {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, { name: "Ava", system_prompt: "Be brief." });
    expect(agent).toMatchObject({
      tenant_id: tenant.id,
      greeting: null,
      greeting_outbound: null,
      voice_provider: "openai",
      voice: "ara",
      openai_voice: "alloy",
      temperature: 0.7,
      ai_speaks_first: true,
      is_active: true,
      settings: {},
    });
    const response = toAgentResponse(agent);
    expect(response.created_at).toBe(agent.created_at.toISOString());
    expect(response.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("lists newest first and merges settings on update", async () => {
    const tenant = await createTenant(store.db, "acme");
    const older = await createAgent(store.db, tenant.id, { name: "one", system_prompt: "p", settings: { timezone: "UTC", vad_threshold: 0.6 } });
    const newer = await createAgent(store.db, tenant.id, { name: "two", system_prompt: "p" });
    expect((await listAgents(store.db, tenant.id)).map((a) => a.id)).toEqual([newer.id, older.id]);

    const updated = await updateAgent(store.db, tenant.id, older.id, { temperature: 0.2, settings: { vad_threshold: 0.8 } });
    expect(updated.temperature).toBe(0.2);
    expect(updated.settings).toEqual({ timezone: "UTC", vad_threshold: 0.8 });
    expect(updated.updated_at.getTime()).toBeGreaterThanOrEqual(older.updated_at.getTime());
    // Unpromoted settings appear as top-level API fields; columns win over a same-named setting.
    const withShadow = await updateAgent(store.db, tenant.id, older.id, { settings: { name: "stale" } });
    expect(toAgentResponse(withShadow)).toMatchObject({ timezone: "UTC", vad_threshold: 0.8, name: "one" });

    expect((await toggleAgent(store.db, tenant.id, older.id)).is_active).toBe(false);
    expect((await toggleAgent(store.db, tenant.id, older.id)).is_active).toBe(true);
  });

  it("hides one tenant's agents, numbers and calls from another", async () => {
    const a = await createTenant(store.db, "a");
    const b = await createTenant(store.db, "b");
    const agent = await createAgent(store.db, a.id, { name: "A's agent", system_prompt: "p" });
    const number = await createPhoneNumber(store.db, a.id, { phone_number: nextNumber(), agent_id: agent.id });
    const call = await createCallLog(store.db, a.id, {
      twilio_call_sid: "CA-isolation",
      direction: "inbound",
      from_number: "+15550000001",
      to_number: number.phone_number,
      status: "ringing",
      agent_id: agent.id,
    });

    expect(await getAgent(store.db, b.id, agent.id)).toBeNull();
    expect(await listAgents(store.db, b.id)).toEqual([]);
    await expect(updateAgent(store.db, b.id, agent.id, { name: "stolen" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(toggleAgent(store.db, b.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteAgent(store.db, b.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);

    expect(await getPhoneNumber(store.db, b.id, number.id)).toBeNull();
    expect(await listPhoneNumbers(store.db, b.id)).toEqual([]);
    expect(await findActiveByNumber(store.db, b.id, number.phone_number)).toBeNull();
    await expect(updatePhoneNumber(store.db, b.id, number.id, { friendly_name: "x" })).rejects.toBeInstanceOf(NotFoundError);

    expect(await getCallLog(store.db, b.id, call.id)).toBeNull();
    expect(await listCallLogs(store.db, b.id, { limit: 10, offset: 0 })).toEqual({ calls: [], total: 0 });

    // B cannot route its number to A's agent.
    await expect(createPhoneNumber(store.db, b.id, { phone_number: nextNumber(), agent_id: agent.id })).rejects.toBeInstanceOf(NotFoundError);
    expect((await getAgent(store.db, a.id, agent.id))?.name).toBe("A's agent");
  });

  it("treats malformed ids as not found rather than as database errors", async () => {
    const tenant = await createTenant(store.db, "acme");
    expect(await getAgent(store.db, tenant.id, "abc")).toBeNull();
    expect(await getAgent(store.db, "abc", tenant.id)).toBeNull();
    expect(await getCallLog(store.db, tenant.id, "1; drop table call_logs")).toBeNull();
    await expect(updateAgent(store.db, tenant.id, "abc", { name: "x" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("registers a number once across all tenants", async () => {
    const a = await createTenant(store.db, "a");
    const b = await createTenant(store.db, "b");
    const phone = nextNumber();
    const created = await createPhoneNumber(store.db, a.id, { phone_number: phone, friendly_name: "Main", twilio_sid: "PN123" });
    expect(toPhoneNumberResponse(created)).toMatchObject({ phone_number: phone, friendly_name: "Main", agent_id: null, is_active: true });
    await expect(createPhoneNumber(store.db, a.id, { phone_number: phone })).rejects.toBeInstanceOf(ConflictError);
    const err: unknown = await createPhoneNumber(store.db, b.id, { phone_number: phone }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: "CONFLICT", retryable: false });
  });

  it("finds an active number with its agent, and nothing for inactive numbers", async () => {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, { name: "Ava", system_prompt: "p" });
    const routed = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber(), agent_id: agent.id });
    const unassigned = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber() });
    const inactive = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber(), agent_id: agent.id, is_active: false });

    const found = await findActiveByNumber(store.db, tenant.id, routed.phone_number);
    expect(found?.phoneNumber.id).toBe(routed.id);
    expect(found?.agent?.id).toBe(agent.id);
    expect((await findActiveByNumber(store.db, tenant.id, unassigned.phone_number))?.agent).toBeNull();
    expect(await findActiveByNumber(store.db, tenant.id, inactive.phone_number)).toBeNull();
    expect(await findActiveByNumber(store.db, tenant.id, "+19999999999")).toBeNull();

    // Deleting the agent unroutes its numbers instead of deleting them.
    await deleteAgent(store.db, tenant.id, agent.id);
    expect((await getPhoneNumber(store.db, tenant.id, routed.id))?.agent_id).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createAgent,
  createPhoneNumber,
  createTenant,
  deleteAgent,
  duplicateAgent,
  getAgent,
  getAgentWithPhoneCount,
  getPhoneNumber,
  listAgents,
  listAgentsWithPhoneCount,
  NotFoundError,
  toggleAgent,
  updateAgent,
  type Db,
} from "../../src/storage/index.js";
import { storageBackends } from "./backends.js";

let numberSeq = 0;
/** A fresh E.164 number per call, since numbers are unique across all tenants. */
const nextNumber = () => `+1415556${String(1000 + numberSeq++).padStart(4, "0")}`;

describe.each(storageBackends)("agent repository on $kind", (backend) => {
  let store: Db;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    await store.close();
  });

  async function agentWithNumbers(count: number) {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, {
      name: "Ava",
      system_prompt: "Be brief.",
      greeting: "Hi.",
      voice_provider: "gemini",
      temperature: 0.3,
      settings: { gemini_voice: "Kore", transfer_targets: [{ name: "Sales", number: "+14155550100", reason: null }], max_silence_seconds: 30 },
    });
    const numbers = [];
    for (let i = 0; i < count; i++) numbers.push(await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber(), agent_id: agent.id }));
    return { tenant, agent, numbers };
  }

  it("counts the phone numbers routed to each agent", async () => {
    const { tenant, agent } = await agentWithNumbers(2);
    const bare = await createAgent(store.db, tenant.id, { name: "Bare", system_prompt: "p" });
    const listed = await listAgentsWithPhoneCount(store.db, tenant.id);
    expect(listed.map((a) => [a.id, a.phone_count])).toEqual([
      [bare.id, 0],
      [agent.id, 2],
    ]);
    expect((await getAgentWithPhoneCount(store.db, tenant.id, agent.id))?.phone_count).toBe(2);
    expect((await updateAgent(store.db, tenant.id, agent.id, { name: "Ava 2" })).phone_count).toBe(2);
    expect((await toggleAgent(store.db, tenant.id, agent.id)).phone_count).toBe(2);
  });

  it("duplicates every setting into an inactive copy without numbers", async () => {
    const { tenant, agent } = await agentWithNumbers(1);
    const copy = await duplicateAgent(store.db, tenant.id, agent.id);
    expect(copy.id).not.toBe(agent.id);
    expect(copy).toMatchObject({
      tenant_id: tenant.id,
      name: "Ava (Copy)",
      system_prompt: "Be brief.",
      greeting: "Hi.",
      voice_provider: "gemini",
      temperature: 0.3,
      is_active: false,
      settings: agent.settings,
    });
    expect((await getAgentWithPhoneCount(store.db, tenant.id, copy.id))?.phone_count).toBe(0);
    expect((await getAgentWithPhoneCount(store.db, tenant.id, agent.id))?.phone_count).toBe(1);
  });

  it("deletes an agent and leaves its numbers in the tenant, unassigned", async () => {
    const { tenant, agent, numbers } = await agentWithNumbers(2);
    await deleteAgent(store.db, tenant.id, agent.id);
    expect(await getAgent(store.db, tenant.id, agent.id)).toBeNull();
    for (const number of numbers) {
      expect(await getPhoneNumber(store.db, tenant.id, number.id)).toMatchObject({ id: number.id, agent_id: null, tenant_id: tenant.id });
    }
    await expect(deleteAgent(store.db, tenant.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("answers not found for another tenant's agent and changes nothing", async () => {
    const { tenant, agent } = await agentWithNumbers(1);
    const other = await createTenant(store.db, "other");
    await expect(duplicateAgent(store.db, other.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(updateAgent(store.db, other.id, agent.id, { name: "stolen" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(toggleAgent(store.db, other.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteAgent(store.db, other.id, agent.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await getAgentWithPhoneCount(store.db, other.id, agent.id)).toBeNull();
    expect(await listAgents(store.db, other.id)).toEqual([]);
    expect(await getAgent(store.db, tenant.id, agent.id)).toEqual(agent);
  });

  it("reads an agent for update inside a transaction", async () => {
    const { tenant, agent } = await agentWithNumbers(0);
    const updated = await store.db.transaction().execute(async (trx) => {
      const locked = await getAgent(trx, tenant.id, agent.id, { forUpdate: true });
      expect(locked?.id).toBe(agent.id);
      return updateAgent(trx, tenant.id, agent.id, { settings: { max_silence_seconds: 60 } });
    });
    expect(updated.settings).toEqual({ ...agent.settings, max_silence_seconds: 60 });
  });
});

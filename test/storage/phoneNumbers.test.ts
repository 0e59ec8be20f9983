import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConflictError,
  createAgent,
  createPhoneNumber,
  createTenant,
  deleteAgent,
  deletePhoneNumber,
  getPhoneNumber,
  listAgentPhoneNumbers,
  NotFoundError,
  updatePhoneNumber,
  type Db,
} from "../../src/storage/index.js";
import { storageBackends } from "./backends.js";

let numberSeq = 0;
// A fresh E.164 number per call: numbers are unique across all tenants.
const nextNumber = () => `+1415556${String(1000 + numberSeq++).padStart(4, "0")}`;

describe.each(storageBackends)("phone numbers on $kind", (backend) => {
  let store: Db;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    await store.close();
  });

  it("lists an agent's numbers oldest first, only within the tenant", async () => {
    const tenant = await createTenant(store.db, "acme");
    const other = await createTenant(store.db, "other");
    const agent = await createAgent(store.db, tenant.id, { name: "Ava", system_prompt: "p" });
    const first = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber(), agent_id: agent.id });
    const second = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber(), agent_id: agent.id });
    await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber() });
    expect((await listAgentPhoneNumbers(store.db, tenant.id, agent.id)).map((n) => n.id)).toEqual([first.id, second.id]);
    expect(await listAgentPhoneNumbers(store.db, other.id, agent.id)).toEqual([]);
    expect(await listAgentPhoneNumbers(store.db, tenant.id, "not-a-uuid")).toEqual([]);
  });

  it("assigns, unassigns, renames and deactivates; an empty patch changes nothing", async () => {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, { name: "Ava", system_prompt: "p" });
    const number = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber() });
    expect(await updatePhoneNumber(store.db, tenant.id, number.id, { agent_id: agent.id, friendly_name: "Main" })).toMatchObject({
      agent_id: agent.id,
      friendly_name: "Main",
      is_active: true,
    });
    expect(await updatePhoneNumber(store.db, tenant.id, number.id, { agent_id: null, is_active: false })).toMatchObject({
      agent_id: null,
      friendly_name: "Main",
      is_active: false,
    });
    expect(await updatePhoneNumber(store.db, tenant.id, number.id, {})).toMatchObject({ friendly_name: "Main", is_active: false });
  });

  it("says the number is not found before looking at the agent, and never crosses tenants", async () => {
    const a = await createTenant(store.db, "a");
    const b = await createTenant(store.db, "b");
    const aAgent = await createAgent(store.db, a.id, { name: "A", system_prompt: "p" });
    const bAgent = await createAgent(store.db, b.id, { name: "B", system_prompt: "p" });
    const aNumber = await createPhoneNumber(store.db, a.id, { phone_number: nextNumber(), agent_id: aAgent.id });
    const bNumber = await createPhoneNumber(store.db, b.id, { phone_number: nextNumber() });

    // B patching A's number with B's agent: the number is what is missing.
    await expect(updatePhoneNumber(store.db, b.id, aNumber.id, { agent_id: bAgent.id })).rejects.toMatchObject({ entity: "phone number" });
    // B routing its own number to A's agent: the agent is what is missing.
    await expect(updatePhoneNumber(store.db, b.id, bNumber.id, { agent_id: aAgent.id })).rejects.toMatchObject({ entity: "agent" });
    await expect(deletePhoneNumber(store.db, b.id, aNumber.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await getPhoneNumber(store.db, a.id, aNumber.id)).toMatchObject({ agent_id: aAgent.id });
    expect(await getPhoneNumber(store.db, b.id, bNumber.id)).toMatchObject({ agent_id: null });
  });

  it("refuses a number any tenant holds, and frees it on delete", async () => {
    const a = await createTenant(store.db, "a");
    const b = await createTenant(store.db, "b");
    const phone_number = nextNumber();
    const held = await createPhoneNumber(store.db, a.id, { phone_number });
    await expect(createPhoneNumber(store.db, b.id, { phone_number })).rejects.toBeInstanceOf(ConflictError);
    await expect(createPhoneNumber(store.db, a.id, { phone_number })).rejects.toBeInstanceOf(ConflictError);
    await deletePhoneNumber(store.db, a.id, held.id);
    expect(await getPhoneNumber(store.db, a.id, held.id)).toBeNull();
    await expect(createPhoneNumber(store.db, b.id, { phone_number })).resolves.toMatchObject({ tenant_id: b.id });
  });

  it("unassigns the number when its agent is deleted", async () => {
    const tenant = await createTenant(store.db, "acme");
    const agent = await createAgent(store.db, tenant.id, { name: "Gone", system_prompt: "p" });
    const number = await createPhoneNumber(store.db, tenant.id, { phone_number: nextNumber(), agent_id: agent.id });
    await deleteAgent(store.db, tenant.id, agent.id);
    expect(await getPhoneNumber(store.db, tenant.id, number.id)).toMatchObject({ agent_id: null });
  });
});

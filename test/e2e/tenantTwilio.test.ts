import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, PUBLIC_URL, startHarness, type Harness } from "./harness.js";

const TENANT_TOKEN = "f".repeat(32);
const TENANT_SID = "AC" + "1".repeat(32);
const NUMBER = "+15550100077";

describe("a tenant with its own Twilio account", () => {
  let h: Harness;
  let tenantId: string;
  beforeAll(async () => {
    h = await startHarness({ env: { PATCHBAY_ENCRYPTION_KEY: "a".repeat(64) } });
    const created = await h.api<{ tenant: { id: string }; api_key: { key: string } }>("POST", "/tenants", { name: "Own account" });
    tenantId = created.body.tenant.id;
    const key = created.body.api_key.key;
    expect((await h.api("PUT", "/tenants/me/twilio", { account_sid: TENANT_SID, auth_token: TENANT_TOKEN }, key)).status).toBe(200);
    const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Own", system_prompt: "Help.", voice_provider: "openai" }, key);
    expect((await h.api("POST", "/phone-numbers", { phone_number: NUMBER, agent_id: agent.body.id }, key)).status).toBe(201);
  });
  afterAll(async () => h?.close());

  it("takes calls whose webhook and media upgrade are signed with that account's token", async () => {
    const result = await h.call({
      fixture: fixture("silence.wav"),
      tailMs: 500,
      to: NUMBER,
      accountSid: TENANT_SID,
      authToken: TENANT_TOKEN,
      webhookUrl: `${PUBLIC_URL}/webhooks/twilio/${tenantId}/voice`,
    }).done;
    expect(result.webhook?.status).toBe(200);
    expect(result.outcome).toBe("completed");
    expect(result.twiml?.stream?.url).toBe(`${PUBLIC_URL.replace("https", "wss")}/media/${tenantId}`);
    expect(result.counts.agentMsReceived).toBeGreaterThan(0);
  });

  it("refuses the environment's token for that tenant", async () => {
    const result = await h.call({
      fixture: fixture("silence.wav"),
      tailMs: 200,
      to: NUMBER,
      webhookUrl: `${PUBLIC_URL}/webhooks/twilio/${tenantId}/voice`,
    }).done;
    expect(result.webhook?.status).toBe(403);
  });
});

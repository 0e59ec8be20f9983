/**
 * Outbound calls end to end: the real server places calls with the official `twilio` client against a
 * loopback fake of Twilio's REST API, and the placed call's voice webhook picks up the same call log.
 */
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenantWithKey, findCallLogByCallSid, getCallLog, type CallLogRow } from "../../src/storage/index.js";
import { FakeTwilioRestServer, twilioError } from "../fakes/twilioRestServer.js";
import { ACCOUNT_SID, ADMIN_KEY, AGENT_NUMBER, AUTH_TOKEN, PUBLIC_URL, fixture, startHarness, type Harness } from "./harness.js";

type Placed = { call_id: string; call_sid: string; status: string; from_number: string; to_number: string; agent_id: string; initiated_at: string };
type ErrorBody = { error: string; message: string; detail?: { loc: (string | number)[]; msg: string }[] };

const TO = "+15550123456";

async function startWithFake(env: Record<string, string> = {}, agent: Record<string, unknown> = {}): Promise<{ h: Harness; fake: FakeTwilioRestServer }> {
  const fake = await FakeTwilioRestServer.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
  const h = await startHarness({ env: { TWILIO_API_BASE_URL: fake.url, LOCAL_VAD: "off", ...env }, agent: { agent_mode: "both", ...agent } });
  return { h, fake };
}

async function createAgent(h: Harness, body: Record<string, unknown>, key?: string): Promise<string> {
  const res = await h.api<{ id: string }>("POST", "/agents", { name: "Caller", system_prompt: "You place calls.", agent_mode: "outbound", ...body }, key);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function createNumber(h: Harness, phone: string, agentId: string | null, key?: string): Promise<string> {
  const res = await h.api<{ id: string }>("POST", "/phone-numbers", { phone_number: phone, agent_id: agentId }, key);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

function callLog(h: Harness, id: string): Promise<CallLogRow | null> {
  return getCallLog(h.server.store.db, h.tenantId, id);
}

/** A signed status callback, as Twilio would send it. */
async function statusCallback(h: Harness, form: Record<string, string>): Promise<number> {
  const path = `/webhooks/twilio/${h.tenantId}/status`;
  const res = await fetch(h.server.url + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_URL + path, form) },
    body: new URLSearchParams(form).toString(),
  });
  return res.status;
}

describe("outbound calls", () => {
  let h: Harness;
  let fake: FakeTwilioRestServer;
  beforeAll(async () => {
    ({ h, fake } = await startWithFake(
      {},
      {
        system_prompt: "You call customers about order {{order_id}}.",
        greeting_outbound: "Hi {{first_name}}, this is Patchbay about order {{order_id}}.",
        variable_definitions: [{ name: "order_id", required: false, default_value: "unknown" }],
      },
    ));
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  const placedCount = () => fake.calls.length;

  it("places the call with the exact calls.create parameters, async AMD included", async () => {
    const res = await h.api<Placed>("POST", `/outbound/agents/${h.agentId}/call`, { to_number: TO });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: "initiated", from_number: AGENT_NUMBER, to_number: TO, agent_id: h.agentId });
    expect(res.body.call_sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(Number.isNaN(Date.parse(res.body.initiated_at))).toBe(false);

    const request = fake.requests.at(-1)!;
    expect(request).toMatchObject({ method: "POST", path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`, authorized: true });
    const base = `${PUBLIC_URL}/webhooks/twilio/${h.tenantId}`;
    expect(request.params).toEqual({
      To: TO,
      From: AGENT_NUMBER,
      Url: `${base}/voice?call_id=${res.body.call_id}`,
      Method: "POST",
      StatusCallback: `${base}/status?call_id=${res.body.call_id}`,
      StatusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
      StatusCallbackMethod: "POST",
      MachineDetection: "DetectMessageEnd",
      AsyncAmd: "true",
      AsyncAmdStatusCallback: `${base}/amd-status?call_id=${res.body.call_id}`,
      AsyncAmdStatusCallbackMethod: "POST",
    });
    expect(request.call?.sid).toBe(res.body.call_sid);

    const log = await callLog(h, res.body.call_id);
    expect(log).toMatchObject({ direction: "outbound", status: "initiated", twilio_call_sid: res.body.call_sid, agent_id: h.agentId, ended_at: null });
  });

  it("leaves AMD out when the agent turns it off, and calls from the number asked for", async () => {
    const agentId = await createAgent(h, { amd_enabled: false });
    await createNumber(h, "+15550100011", agentId);
    const other = await createNumber(h, "+15550100012", null);
    const res = await h.api<Placed>("POST", `/outbound/agents/${agentId}/call`, { to_number: TO, from_phone_number_id: other });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.from_number).toBe("+15550100012");
    const params = fake.requests.at(-1)!.params;
    expect(params.From).toBe("+15550100012");
    for (const amd of ["MachineDetection", "AsyncAmd", "AsyncAmdStatusCallback", "AsyncAmdStatusCallbackMethod"]) expect(params).not.toHaveProperty(amd);
  });

  it("answers 409 for an inactive agent and for an inbound-only one, placing nothing", async () => {
    const inactive = await createAgent(h, { is_active: false, agent_mode: "both" });
    await createNumber(h, "+15550100021", inactive);
    const inboundOnly = await createAgent(h, { agent_mode: "inbound" });
    await createNumber(h, "+15550100022", inboundOnly);
    const before = placedCount();
    const a = await h.api<ErrorBody>("POST", `/outbound/agents/${inactive}/call`, { to_number: TO });
    expect(a.status).toBe(409);
    expect(a.body.message).toMatch(/inactive/);
    const b = await h.api<ErrorBody>("POST", "/outbound/trigger", { agent_id: inboundOnly, to_number: TO });
    expect(b.status).toBe(409);
    expect(b.body.message).toMatch(/inbound/);
    expect(placedCount()).toBe(before);
  });

  it("answers 422 with no number to call from, a bad E.164 number, or a missing required variable", async () => {
    const before = placedCount();
    const numberless = await createAgent(h, {});
    const none = await h.api<ErrorBody>("POST", `/outbound/agents/${numberless}/call`, { to_number: TO });
    expect(none.status).toBe(422);
    expect(none.body.detail?.[0]?.loc).toEqual(["body", "from_phone_number_id"]);

    const bad = await h.api<ErrorBody>("POST", "/outbound/trigger", { agent_id: h.agentId, to_number: "555-0123" });
    expect(bad.status).toBe(422);
    expect(bad.body.detail?.[0]?.loc).toEqual(["body", "to_number"]);
    expect((await h.api("POST", `/outbound/agents/${h.agentId}/call`, { to_number: "+0123" })).status).toBe(422);

    const strict = await createAgent(h, {
      variable_definitions: [
        { name: "customer_name", required: true },
        { name: "order_id", required: true },
      ],
    });
    await createNumber(h, "+15550100031", strict);
    const missing = await h.api<ErrorBody>("POST", "/outbound/trigger", { agent_id: strict, to_number: TO, dynamic_variables: { order_id: "A-1" } });
    expect(missing.status).toBe(422);
    expect(missing.body.message).toContain("customer_name");
    expect(missing.body.detail?.map((d) => d.loc)).toEqual([["body", "dynamic_variables", "customer_name"]]);
    const wrongType = await h.api<ErrorBody>("POST", "/outbound/trigger", { agent_id: strict, to_number: TO, dynamic_variables: { order_id: 7 } });
    expect(wrongType.status).toBe(422);
    expect(placedCount()).toBe(before);

    const ok = await h.api("POST", "/outbound/trigger", { agent_id: strict, to_number: TO, dynamic_variables: { order_id: "A-1", customer_name: "Ada" } });
    expect(ok.status).toBe(201);
  });

  it("answers 502 with Twilio's message when Twilio refuses, and finishes the log as failed", async () => {
    const refused = "+15550166666";
    const message = `Account not authorized to call ${refused}. Perhaps you need to enable some international permissions`;
    fake.refuse(refused, twilioError(400, 21215, message));
    const res = await h.api<ErrorBody>("POST", `/outbound/agents/${h.agentId}/call`, { to_number: refused });
    expect(res.status).toBe(502);
    expect(res.body.message).toContain(message);
    const logs = await h.server.store.db.selectFrom("call_logs").selectAll().where("to_number", "=", refused).execute();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ status: "failed", duration_seconds: 0 });
    expect(logs[0]!.ended_at).not.toBeNull();
    expect(logs[0]!.metadata).toMatchObject({ end_reason: "twilio_refused", end_detail: message, twilio_error_code: 21215 });
  });

  it("accepts the CRM style body with customData, mapping contact fields and extra keys", async () => {
    const res = await h.api<Placed>("POST", "/outbound/trigger", {
      type: "ContactCreate",
      email: "ada@example.com",
      customData: { agent_id: h.agentId, phone: "+1 (555) 012-3499", first_name: "Ada", source: "GHL Workflow", appointment_time: "3pm" },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.to_number).toBe("+15550123499");
    expect(fake.requests.at(-1)!.params.To).toBe("+15550123499");
    const log = await callLog(h, res.body.call_id);
    expect(log?.metadata).toMatchObject({
      context: { first_name: "Ada", email: "ada@example.com", source: "GHL Workflow", custom_fields: { appointment_time: "3pm" } },
      dynamic_variables: { appointment_time: "3pm" },
    });
    const noAgent = await h.api<ErrorBody>("POST", "/outbound/trigger", { customData: { to_number: TO } });
    expect(noAgent.status).toBe(422);
    expect(noAgent.body.detail?.[0]?.loc).toEqual(["body", "customData", "agent_id"]);
    // customData is open-ended, but not unbounded: it ends up in the model's prompt.
    const huge = await h.api<ErrorBody>("POST", "/outbound/trigger", { customData: { agent_id: h.agentId, to_number: TO, notes_blob: "x".repeat(5001) } });
    expect(huge.status).toBe(422);
    expect(huge.body.detail?.[0]?.loc).toEqual(["body", "customData", "notes_blob"]);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`field_${i}`, "v"]));
    expect((await h.api("POST", "/outbound/trigger", { customData: { agent_id: h.agentId, to_number: TO, ...many } })).status).toBe(422);
  });

  it("keeps tenants apart: another tenant's agent or number is a 404 and nothing is placed", async () => {
    const other = await createTenantWithKey(h.server.store.db, "other business");
    const theirAgent = await createAgent(h, { agent_mode: "both" }, other.key);
    const theirNumber = await createNumber(h, "+15550100041", theirAgent, other.key);
    const ourNumber = (await h.api<{ id: string; phone_number: string }[] | { phone_numbers: { id: string; phone_number: string }[] }>("GET", `/agents/${h.agentId}/phone-numbers`)).body;
    const ourNumberId = (Array.isArray(ourNumber) ? ourNumber : ourNumber.phone_numbers)[0]!.id;
    const before = placedCount();

    expect((await h.api("POST", `/outbound/agents/${h.agentId}/call`, { to_number: TO }, other.key)).status).toBe(404);
    expect((await h.api("POST", "/outbound/trigger", { agent_id: h.agentId, to_number: TO }, other.key)).status).toBe(404);
    expect((await h.api("POST", `/outbound/agents/${theirAgent}/call`, { to_number: TO, from_phone_number_id: ourNumberId }, other.key)).status).toBe(404);
    expect((await h.api("POST", `/outbound/agents/${h.agentId}/call`, { to_number: TO, from_phone_number_id: theirNumber })).status).toBe(404);
    expect(placedCount()).toBe(before);
    const theirs = await h.server.store.db.selectFrom("call_logs").select("id").where("tenant_id", "=", other.tenant.id).execute();
    expect(theirs).toHaveLength(0);
  });

  it("answers the placed call's webhook with the same call log, the session knowing the context and variables", async () => {
    const to = "+15550177001";
    const placed = await h.api<Placed>("POST", "/outbound/trigger", {
      agent_id: h.agentId,
      to_number: to,
      context: { first_name: "Grace", company: "Acme Ltd", notes: "Asked for a callback after 3pm" },
      dynamic_variables: { order_id: "A-42" },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const { call_id: callId, call_sid: callSid } = placed.body;

    const result = await h.call({
      fixture: fixture("silence.wav"),
      to,
      from: AGENT_NUMBER,
      callSid,
      webhookUrl: `${PUBLIC_URL}/webhooks/twilio/${h.tenantId}/voice?call_id=${callId}`,
      extraParams: { Direction: "outbound-api", CallStatus: "in-progress" },
      tailMs: 0,
    }).done;
    expect(result.twiml?.stream).toBeDefined();

    const log = await waitFinished(h, callSid);
    expect(log.id).toBe(callId);
    expect(log).toMatchObject({ direction: "outbound", to_number: to, from_number: AGENT_NUMBER, agent_id: h.agentId });
    expect(log.metadata).toMatchObject({ end_reason: "stream_stopped", context: { first_name: "Grace" }, dynamic_variables: { order_id: "A-42" } });
    const logs = await h.server.store.db.selectFrom("call_logs").select("id").where("to_number", "=", to).execute();
    expect(logs).toHaveLength(1);

    const instructions = h.fake.received.flatMap((e) => (e.type === "session.update" ? [JSON.stringify(e.session)] : []));
    const ours = instructions.find((text) => text.includes("order A-42"));
    expect(ours, "the provider session's instructions carry the filled prompt").toBeDefined();
    expect(ours).toContain("First name: Grace");
    expect(ours).toContain("Company: Acme Ltd");
  });

  it("treats a replayed placed-call webhook as a retry, not a second session", async () => {
    const placed = await h.api<Placed>("POST", `/outbound/agents/${h.agentId}/call`, { to_number: "+15550177002" });
    const path = `/webhooks/twilio/${h.tenantId}/voice?call_id=${placed.body.call_id}`;
    const form = { CallSid: placed.body.call_sid, AccountSid: ACCOUNT_SID, From: AGENT_NUMBER, To: "+15550177002", Direction: "outbound-api", CallStatus: "in-progress" };
    const post = () =>
      fetch(h.server.url + path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_URL + path, form) },
        body: new URLSearchParams(form).toString(),
      });
    const [a, b] = await Promise.all([post(), post()]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await a.text()).toContain("<Stream");
    expect(await b.text()).toContain("<Stream");
    const logs = await h.server.store.db.selectFrom("call_logs").select("id").where("twilio_call_sid", "=", placed.body.call_sid).execute();
    expect(logs).toEqual([{ id: placed.body.call_id }]);
    await h.server.sessions.get(placed.body.call_id)?.end("stream_stopped");
  });
});

describe("outbound limits", () => {
  let h: Harness;
  let fake: FakeTwilioRestServer;
  beforeAll(async () => {
    ({ h, fake } = await startWithFake({ OUTBOUND_RATE_PER_MINUTE: "3", OUTBOUND_MAX_CONCURRENT: "2" }));
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it("caps concurrent outbound calls, then rate-limits with Retry-After", async () => {
    const place = () => h.api<Placed & ErrorBody>("POST", `/outbound/agents/${h.agentId}/call`, { to_number: TO });
    const first = await place();
    const second = await place();
    expect([first.status, second.status]).toEqual([201, 201]);

    const capped = await place();
    expect(capped.status).toBe(429);
    expect(capped.body.message).toMatch(/in progress at once/);
    expect(fake.calls).toHaveLength(2);

    // Twilio says the first call ended: a slot frees; the refused attempt didn't use up the rate.
    expect(await statusCallback(h, { CallSid: first.body.call_sid, CallStatus: "completed", CallDuration: "12" })).toBe(200);
    expect((await callLog(h, first.body.call_id))?.status).toBe("completed");
    expect((await place()).status).toBe(201);

    expect(await statusCallback(h, { CallSid: second.body.call_sid, CallStatus: "no-answer", CallDuration: "0" })).toBe(200);
    const limited = await fetch(`${h.server.url}/outbound/agents/${h.agentId}/call`, {
      method: "POST",
      headers: { "x-api-key": ADMIN_KEY, "content-type": "application/json" },
      body: JSON.stringify({ to_number: TO }),
    });
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as ErrorBody).message).toMatch(/per minute/);
    expect(fake.calls).toHaveLength(3);
  });
});

describe("outbound without Twilio credentials", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "", SESSION_SECRET: "session-secret-0123456789abcdef", LOCAL_VAD: "off" },
      agent: { agent_mode: "both" },
    });
  });
  afterAll(async () => h?.close());

  it("answers 503 saying what to configure", async () => {
    const res = await h.api<ErrorBody>("POST", `/outbound/agents/${h.agentId}/call`, { to_number: TO });
    expect(res.status).toBe(503);
    expect(res.body.message).toMatch(/TWILIO_ACCOUNT_SID/);
  });
});

/** The call log for a CallSid once it is finished, read from the store. */
async function waitFinished(h: Harness, callSid: string): Promise<CallLogRow> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const log = await findCallLogByCallSid(h.server.store.db, h.tenantId, callSid);
    if (log !== null && log.ended_at !== null) return log;
    if (performance.now() > deadline) throw new Error(`call ${callSid} has no finished log: ${JSON.stringify(log)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

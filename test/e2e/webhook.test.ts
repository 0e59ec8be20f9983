import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECORDING_DISCLOSURE } from "../../src/twilio/streamTwiml.js";
import { parseTwiml } from "../sim/twilioSimulator.js";
import { ACCOUNT_SID, AGENT_NUMBER, AUTH_TOKEN, PUBLIC_URL, fixture, startHarness, type Harness } from "./harness.js";

/** POSTs a voice webhook signed like Twilio, without the simulator's media side. */
async function voiceWebhook(h: Harness, params: Record<string, string>): Promise<{ status: number; body: string }> {
  const path = `/webhooks/twilio/${h.tenantId}/voice`;
  const form = { AccountSid: ACCOUNT_SID, CallStatus: "ringing", ApiVersion: "2010-04-01", ...params };
  const res = await fetch(h.server.url + path, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_URL + path, form),
    },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.text() };
}

describe("voice webhook", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.close());

  it("finds our number in From on a call we placed (outbound-api)", async () => {
    const result = await h.call({
      fixture: fixture("silence.wav"),
      to: "+15550177777",
      from: AGENT_NUMBER,
      extraParams: { Direction: "outbound-api" },
      tailMs: 0,
    }).done;
    expect(result.twiml?.stream).toBeDefined();
    const log = await h.finishedCall(result.callSid);
    expect(log).toMatchObject({ direction: "outbound", from_number: AGENT_NUMBER, to_number: "+15550177777", agent_id: h.agentId });
  });

  it("refuses an inbound call to a number whose agent only places calls (agent_mode outbound)", async () => {
    const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Dialer", system_prompt: "Call leads.", agent_mode: "outbound" });
    const number = "+15550177788";
    expect((await h.api("POST", "/phone-numbers", { phone_number: number, agent_id: agent.body.id })).status).toBe(201);
    const callSid = "CA" + "7".repeat(32);
    const res = await voiceWebhook(h, { CallSid: callSid, From: "+15550199999", To: number, Direction: "inbound" });
    expect(res.status).toBe(200);
    expect(parseTwiml(res.body).stream).toBeUndefined();
    expect(res.body).toContain("<Hangup/>");
    const log = await h.finishedCall(callSid);
    expect(log).toMatchObject({ status: "failed", metadata: { end_reason: "agent_outbound_only" } });
  });

  it("speaks the recording disclosure before the stream when the agent asks for it, and only then", async () => {
    const withIt = await voiceWebhook(h, { CallSid: "CA" + "5".repeat(32), From: "+15550188881", To: AGENT_NUMBER, Direction: "inbound" });
    const parsed = parseTwiml(withIt.body);
    // Before <Connect>: Twilio says it first, so it is heard before the agent's greeting.
    expect(parsed.verbs.map((v) => v.verb)).toEqual(["Say", "Connect"]);
    expect(parsed.says).toEqual([RECORDING_DISCLOSURE]);
    const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Quiet", system_prompt: "Hi.", enable_recording_disclosure: false });
    const number = "+15550177799";
    expect((await h.api("POST", "/phone-numbers", { phone_number: number, agent_id: agent.body.id })).status).toBe(201);
    const without = await voiceWebhook(h, { CallSid: "CA" + "6".repeat(32), From: "+15550188882", To: number, Direction: "inbound" });
    expect(parseTwiml(without.body).verbs.map((v) => v.verb)).toEqual(["Connect"]);
  });

  it("answers a retried webhook for the same call with a stream to the same call, not a second call", async () => {
    const callSid = "CA" + "1".repeat(32);
    const params = { CallSid: callSid, From: "+15550188888", To: AGENT_NUMBER, Direction: "inbound" };
    const [first, second] = await Promise.all([voiceWebhook(h, params), voiceWebhook(h, params)]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const tokens = [first, second].map((r) => parseTwiml(r.body).stream?.parameters.token ?? "");
    // Both tokens name the same call log (tenant.call.exp.sig).
    expect(tokens[0]!.split(".")[1]).toBeTruthy();
    expect(tokens[0]!.split(".")[1]).toBe(tokens[1]!.split(".")[1]);
    const list = await h.api<{ calls: { twilio_call_sid: string }[] }>("GET", "/calls?limit=100");
    expect(list.body.calls.filter((c) => c.twilio_call_sid === callSid)).toHaveLength(1);
  });

  it("answers 503 while draining, so Twilio tries the number's fallback URL", async () => {
    h.server.drain();
    const res = await voiceWebhook(h, { CallSid: "CA" + "2".repeat(32), From: "+15550188888", To: AGENT_NUMBER });
    expect(res.status).toBe(503);
    expect((await fetch(`${h.server.url}/health`)).status).toBe(503);
  });
});

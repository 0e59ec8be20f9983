/**
 * A warm transfer on a live call, end to end: the model asks for it, Twilio (fake REST) gets the Dial,
 * its redirect stops the stream without hanging up, the whisper briefs the callee, and a busy callee
 * brings the caller back to the agent on a new stream.
 */
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FakeTwilioRestServer } from "../fakes/twilioRestServer.js";
import { parseTwiml, placeCall, type CallHandle } from "../sim/twilioSimulator.js";
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, fixture, startHarness, type Harness } from "./harness.js";

const TARGET = { name: "Billing", number: "+15550100099", reason: "refunds and invoices" };

describe("transfer_call on a live call", () => {
  let h: Harness;
  let twilio: FakeTwilioRestServer;
  beforeAll(async () => {
    twilio = await FakeTwilioRestServer.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    h = await startHarness({
      env: { TWILIO_API_BASE_URL: twilio.url, LOCAL_VAD: "off" },
      agent: { transfer_targets: [TARGET], whisper_enabled: true, enable_recording_disclosure: false },
    });
  });
  afterAll(async () => {
    await h?.close();
    await twilio?.close();
  });

  async function signedPost(path: string, form: Record<string, string>): Promise<string> {
    const full = { AccountSid: ACCOUNT_SID, ...form };
    const res = await fetch(h.server.url + path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_URL + path, full) },
      body: new URLSearchParams(full).toString(),
    });
    expect(res.status).toBe(200);
    return res.text();
  }

  /** A call in progress whose model asks for the transfer while the greeting plays; resolves once Twilio has the Dial. */
  async function transferredCall() {
    let first: CallHandle | null = null;
    // Twilio stops the media stream when a call is redirected.
    twilio.onUpdate = (_sid, params) => {
      if (params.Twiml !== undefined) first?.hangup();
    };
    first = h.call({ fixture: fixture("caller-question.wav"), tailMs: 15_000 });
    const callSid = first.callSid;
    await new Promise((r) => setTimeout(r, 2_000));
    const toolCallId = h.fake.requestToolCall("transfer_call", { target: "Billing", reason: "The caller wants a refund for a double charge." });
    await vi.waitFor(() => expect(twilio.updatesOf(callSid)).toHaveLength(1), { timeout: 10_000 });
    const dial = parseTwiml(String(twilio.updatesOf(callSid)[0]!.Twiml)).verbs[0]!;
    expect(dial).toMatchObject({ verb: "Dial", attributes: { answerOnBridge: "true", timeout: "25" } });
    expect(dial.children[0]).toMatchObject({ verb: "Number", text: TARGET.number });
    const firstLeg = await first.done;
    expect(firstLeg.outcome).toBe("completed");
    // The stream's stop did not end the call.
    const live = await h.api<{ calls: { twilio_call_sid: string; ended_at: string | null }[] }>("GET", "/calls?limit=50");
    expect(live.body.calls.find((c) => c.twilio_call_sid === callSid)?.ended_at).toBeNull();
    return { callSid, toolCallId, dial };
  }

  it("keeps the call through the redirect's stop, briefs the callee who answers, and ends as transferred", async () => {
    const { callSid, dial } = await transferredCall();
    const whisperUrl = new URL(dial.children[0]!.attributes.url!);
    const whisper = await signedPost(whisperUrl.pathname, { CallSid: "CA" + "e".repeat(32), ParentCallSid: callSid, CallStatus: "in-progress" });
    const says = parseTwiml(whisper).says;
    expect(says).toHaveLength(1);
    expect(says[0]).toMatch(/refund/);
    const log = await h.finishedCall(callSid);
    expect(log).toMatchObject({
      status: "completed",
      metadata: { end_reason: "transferred", transfer: { target_name: "Billing", status: "answered" }, tool_calls: [{ name: "transfer_call", ok: true }] },
    });
  });

  it("ends the call at once, not as transferred, when the caller hangs up while the target rings", async () => {
    const { callSid, dial } = await transferredCall();
    const action = new URL(dial.attributes.action!);
    const hungUpAt = performance.now();
    const twiml = await signedPost(action.pathname + action.search, { CallSid: callSid, CallStatus: "completed", DialCallStatus: "no-answer" });
    const answer = parseTwiml(twiml);
    expect(answer.hangup).toBe(true);
    expect(answer.stream).toBeUndefined();
    const log = await h.finishedCall(callSid);
    // Well inside the 15 s a failed transfer's caller gets to come back.
    expect(performance.now() - hungUpAt).toBeLessThan(5_000);
    expect(log.metadata).toMatchObject({
      end_reason: "stream_stopped",
      end_detail: "the caller hung up during the transfer to Billing (no-answer)",
      transfer: { status: "failed", outcome: "no-answer" },
    });
  });

  it("brings the caller back to the agent on a new stream when the line is busy, and tells the model", async () => {
    const { callSid, toolCallId, dial } = await transferredCall();
    // Busy: Twilio runs the Dial's action, whose TwiML streams the caller back to the agent.
    const back = placeCall({
      serverOrigin: h.server.url,
      webhookUrl: dial.attributes.action!,
      authToken: AUTH_TOKEN,
      accountSid: ACCOUNT_SID,
      callSid,
      to: "+15550100001",
      from: "+15550199999",
      extraParams: { DialCallStatus: "busy", DialCallSid: "CA" + "d".repeat(32) },
      fixture: fixture("silence.wav"),
      tailMs: 4_000,
    });
    const told = JSON.parse(await h.fake.waitForToolOutput(toolCallId, 10_000)) as Record<string, unknown>;
    expect(told).toMatchObject({ transferred: false, outcome: "busy" });
    const secondLeg = await back.done;
    expect(secondLeg.error).toBeNull();
    // The agent speaks to the caller again on the new stream.
    expect(secondLeg.counts.agentMsReceived).toBeGreaterThan(0);
    const log = await h.finishedCall(callSid);
    expect(log.metadata).toMatchObject({ end_reason: "stream_stopped", transfer: { target_name: "Billing", status: "failed", outcome: "busy" } });
  });
});

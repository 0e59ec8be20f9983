/**
 * Warm transfer against the real server: call control redirects the live call on a loopback Twilio REST
 * fake, Twilio's whisper fetch and `<Dial action>` are signed like Twilio's, the call's log is read back
 * from the store, and what the live call is told arrives on the bus (no session lives here for these calls).
 */
import { randomBytes } from "node:crypto";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TransferRequest } from "../../sessions/index.js";
import { callControlFor, CallControlError, type ControlledCall } from "../../src/calls/callControl.js";
import { callChannel, type LiveCallEvent } from "../../src/calls/outboundLiveCall.js";
import { TRANSFER_DIAL_TIMEOUT_S, type TransferDeps } from "../../src/calls/transfer.js";
import { createLogger } from "../../src/log.js";
import { SessionTokens, sessionSecretFrom } from "../../src/sessionToken.js";
import { createCallLog, createTenant, finishCallLog, getCallLog, type CallLogRow, type TransferRecord } from "../../src/storage/index.js";
import { FakeOpenAITextServer, FAKE_OPENAI_TEXT_KEY } from "../fakes/openaiTextServer.js";
import { FakeTwilioRestServer } from "../fakes/twilioRestServer.js";
import { parseTwiml } from "../sim/twiml.js";
import { ACCOUNT_SID, AGENT_NUMBER, AUTH_TOKEN, PUBLIC_URL, startServerHarness, type ServerHarness } from "./harness.js";

const CALLER = "+15550199999";
const TARGET_NUMBER = "+15550102000";
const MODEL_SUMMARY = "Dana Smith was charged twice for last month's cleaning and wants one charge refunded.";
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

const newSid = () => "CA" + randomBytes(16).toString("hex");

const request: TransferRequest = {
  target: { name: "Billing desk", number: TARGET_NUMBER, reason: "invoices and refunds" },
  reason: "double charge on a cleaning",
  transcript: [
    { role: "agent", text: "Thanks for calling. How can I help?", at_ms: 0 },
    { role: "caller", text: "I was charged twice for my cleaning.", at_ms: 2_000 },
  ],
};

describe("warm transfer", () => {
  let h: ServerHarness;
  let twilio: FakeTwilioRestServer;
  let openai: FakeOpenAITextServer;
  let deps: TransferDeps;
  const tokens = new SessionTokens(sessionSecretFrom(undefined, AUTH_TOKEN)!);

  beforeAll(async () => {
    twilio = await FakeTwilioRestServer.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    openai = await FakeOpenAITextServer.start();
    h = await startServerHarness({
      env: { LOCAL_VAD: "off", TWILIO_API_BASE_URL: twilio.url, OPENAI_API_KEY: FAKE_OPENAI_TEXT_KEY, OPENAI_BASE_URL: openai.url },
    });
    deps = { config: h.server.config, db: h.server.store.db, log: createLogger("silent") };
  });
  afterAll(async () => {
    await h?.close();
    await openai?.close();
    await twilio?.close();
  });
  beforeEach(() => {
    twilio.reset();
    openai.behaviour = { text: MODEL_SUMMARY };
  });

  /** An inbound call in progress, as the voice webhook and the stream's start leave it. */
  async function liveCall(): Promise<CallLogRow> {
    return createCallLog(h.server.store.db, h.tenantId, {
      agent_id: h.agentId,
      phone_number_id: null,
      twilio_call_sid: newSid(),
      direction: "inbound",
      from_number: CALLER,
      to_number: AGENT_NUMBER,
      status: "in-progress",
      started_at: new Date(Date.now() - 30_000),
      metadata: { stream_sid: "MZ0123" },
    });
  }

  const controlled = (log: CallLogRow, whisperEnabled = true): ControlledCall => ({
    tenantId: h.tenantId,
    callId: log.id,
    callSid: log.twilio_call_sid,
    fromNumber: AGENT_NUMBER,
    whisperEnabled,
  });

  async function transferOf(callId: string): Promise<TransferRecord> {
    const log = await getCallLog(h.server.store.db, h.tenantId, callId);
    return log!.metadata.transfer as unknown as TransferRecord;
  }

  /** Events handed to the live call over the bus (it lives on no instance here). */
  async function busEvents(callId: string): Promise<{ events: LiveCallEvent[]; stop: () => Promise<void> }> {
    const events: LiveCallEvent[] = [];
    const stop = await h.server.bus.subscribe(callChannel(callId), (message) => events.push(message as LiveCallEvent));
    return { events, stop };
  }

  /** Twilio's request to one of our URLs, signed over the public URL with `token`. */
  async function twilioRequest(method: "GET" | "POST", path: string, form: Record<string, string>, token = AUTH_TOKEN) {
    const full = { AccountSid: ACCOUNT_SID, ApiVersion: "2010-04-01", ...form };
    const signedUrl = PUBLIC_URL + path + (method === "GET" ? `?${new URLSearchParams(full).toString()}` : "");
    const signature = getExpectedTwilioSignature(token, signedUrl, method === "GET" ? {} : full);
    const res = await fetch(h.server.url + path + (method === "GET" ? `?${new URLSearchParams(full).toString()}` : ""), {
      method,
      headers: { "x-twilio-signature": signature, ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}) },
      body: method === "POST" ? new URLSearchParams(full).toString() : undefined,
    });
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
  }

  const whisper = (callSid: string, method: "GET" | "POST" = "POST", token?: string) =>
    twilioRequest(method, `/webhooks/twilio/${h.tenantId}/whisper/${callSid}`, { CallSid: newSid(), ParentCallSid: callSid, CallStatus: "in-progress" }, token);

  const dialEnded = (log: CallLogRow, DialCallStatus: string, DialCallDuration = "0", CallStatus = "in-progress") =>
    twilioRequest("POST", `/webhooks/twilio/${h.tenantId}/transfer-status?call_id=${log.id}`, {
      CallSid: log.twilio_call_sid,
      CallStatus,
      DialCallSid: newSid(),
      DialCallStatus,
      DialCallDuration,
    });

  async function waitFor<T>(probe: () => Promise<T | null | undefined> | T | null | undefined, timeoutMs = 5_000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== null && value !== undefined) return value;
      if (performance.now() > deadline) throw new Error("timed out waiting");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("redirects the live call to the exact Dial-with-whisper TwiML and records the transfer", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);

    const updates = twilio.updatesOf(log.twilio_call_sid);
    expect(updates).toHaveLength(1);
    const base = `${PUBLIC_URL}/webhooks/twilio/${h.tenantId}`;
    const twiml = updates[0]!.Twiml as string;
    expect(twiml).toBe(
      XML_DECLARATION +
        `<Response><Dial callerId="${AGENT_NUMBER}" answerOnBridge="true" timeout="${TRANSFER_DIAL_TIMEOUT_S}" ` +
        `action="${base}/transfer-status?call_id=${log.id}" method="POST">` +
        `<Number url="${base}/whisper/${log.twilio_call_sid}" method="POST">${TARGET_NUMBER}</Number></Dial></Response>`,
    );
    expect(parseTwiml(twiml).verbs).toEqual([
      {
        verb: "Dial",
        attributes: { callerId: AGENT_NUMBER, answerOnBridge: "true", timeout: "25", action: `${base}/transfer-status?call_id=${log.id}`, method: "POST" },
        text: "",
        children: [{ verb: "Number", attributes: { url: `${base}/whisper/${log.twilio_call_sid}`, method: "POST" }, text: TARGET_NUMBER, children: [] }],
      },
    ]);

    const started = await transferOf(log.id);
    expect(started).toMatchObject({
      target_name: "Billing desk",
      number: TARGET_NUMBER,
      reason: "double charge on a cleaning",
      status: "dialing",
      whisper_enabled: true,
    });
    expect(Date.parse(started.started_at)).not.toBeNaN();
    // The model's summary replaces the extract once it is ready.
    const summarised = await waitFor(async () => ((await transferOf(log.id)).summary_source === "model" ? transferOf(log.id) : null));
    expect(summarised.summary).toBe(MODEL_SUMMARY);
    expect(openai.requests.at(-1)!.body.model).toBe(h.server.config.summaryModel);
  });

  it("answers the whisper with the summary, marks the transfer answered and tells the live call", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);
    await waitFor(async () => ((await transferOf(log.id)).summary_source === "model" ? true : null));
    const bus = await busEvents(log.id);
    try {
      const res = await whisper(log.twilio_call_sid);
      expect(res.status).toBe(200);
      expect(res.type).toContain("text/xml");
      expect(res.body).toBe(`${XML_DECLARATION}<Response><Say>${MODEL_SUMMARY}</Say></Response>`);
      expect(await transferOf(log.id)).toMatchObject({ status: "answered", summary_source: "model" });
      await waitFor(() => (bus.events.length > 0 ? true : null));
      expect(bus.events).toEqual([{ type: "transfer_answered" }]);
      // Twilio may fetch with GET too; a replay says the same.
      const again = await whisper(log.twilio_call_sid, "GET");
      expect(again.status).toBe(200);
      expect(parseTwiml(again.body).says).toEqual([MODEL_SUMMARY]);
    } finally {
      await bus.stop();
    }
  });

  it("whispers the transcript extract when the model is unavailable", async () => {
    openai.behaviour = { errorStatus: 500 };
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);
    const res = await whisper(log.twilio_call_sid);
    expect(parseTwiml(res.body).says).toEqual([
      'Transferring a caller about double charge on a cleaning. The caller said: "I was charged twice for my cleaning".',
    ]);
    expect((await transferOf(log.id)).summary_source).toBe("extract");
  });

  it("answers an empty whisper with whisper off, for an unknown call and for a call with no transfer", async () => {
    const off = await liveCall();
    await callControlFor(deps, controlled(off, false)).transfer(request);
    expect(await transferOf(off.id)).toMatchObject({ whisper_enabled: false, summary: null, summary_source: null });
    const res = await whisper(off.twilio_call_sid);
    expect(res.status).toBe(200);
    expect(res.body).toBe(`${XML_DECLARATION}<Response/>`);
    // The fetch still says the callee answered.
    expect((await transferOf(off.id)).status).toBe("answered");

    expect((await whisper(newSid())).body).toBe(`${XML_DECLARATION}<Response/>`);
    const untransferred = await liveCall();
    expect((await whisper(untransferred.twilio_call_sid)).body).toBe(`${XML_DECLARATION}<Response/>`);
    expect((await getCallLog(h.server.store.db, h.tenantId, untransferred.id))!.metadata.transfer).toBeUndefined();
  });

  it("refuses an unsigned or wrongly signed whisper or dial result with 403, changing nothing", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);
    expect((await whisper(log.twilio_call_sid, "POST", "not-the-auth-token")).status).toBe(403);
    expect((await whisper(log.twilio_call_sid, "GET", "not-the-auth-token")).status).toBe(403);
    const unsigned = await fetch(`${h.server.url}/webhooks/twilio/${h.tenantId}/transfer-status?call_id=${log.id}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ CallSid: log.twilio_call_sid, DialCallStatus: "busy" }).toString(),
    });
    expect(unsigned.status).toBe(403);
    expect((await transferOf(log.id)).status).toBe("dialing");
  });

  it("puts the caller back on the agent when the dial is busy: a fresh stream with a valid token", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);
    const bus = await busEvents(log.id);
    try {
      const res = await dialEnded(log, "busy");
      expect(res.status).toBe(200);
      const twiml = parseTwiml(res.body);
      expect(twiml.hangup).toBe(false);
      expect(twiml.stream?.url).toBe(`wss://patchbay.test/media/${h.tenantId}`);
      expect(Object.keys(twiml.stream!.parameters)).toEqual(["token"]);
      expect(tokens.verify(twiml.stream!.parameters.token!, log.twilio_call_sid)).toEqual({ ok: true, tenantId: h.tenantId, callId: log.id });
      await waitFor(() => (bus.events.length > 0 ? true : null));
      expect(bus.events).toEqual([{ type: "transfer_failed", status: "busy" }]);
      expect(await transferOf(log.id)).toMatchObject({ status: "failed", outcome: "busy", dial_duration_seconds: 0 });
    } finally {
      await bus.stop();
    }
  });

  it("tells the live call the caller hung up when the dial ends with the parent call already completed", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);
    const bus = await busEvents(log.id);
    try {
      const res = await dialEnded(log, "no-answer", "0", "completed");
      expect(res.body).toBe(`${XML_DECLARATION}<Response><Hangup/></Response>`);
      await waitFor(() => (bus.events.length > 0 ? true : null));
      expect(bus.events).toEqual([{ type: "transfer_failed", status: "no-answer", caller_gone: true }]);
      expect(await transferOf(log.id)).toMatchObject({ status: "failed", outcome: "no-answer" });
    } finally {
      await bus.stop();
    }
  });

  it("hangs up after a completed transfer, storing the outcome once", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).transfer(request);
    await whisper(log.twilio_call_sid);
    // The session writes its own end when the stream stops; the dial's result comes after the bridge ends.
    await finishCallLog(h.server.store.db, h.tenantId, log.id, {
      status: "completed",
      endedAt: new Date(),
      durationSeconds: 60,
      transcript: [],
      metadata: { end_reason: "transferred" },
    });
    const bus = await busEvents(log.id);
    try {
      const res = await dialEnded(log, "completed", "42");
      expect(res.body).toBe(`${XML_DECLARATION}<Response><Hangup/></Response>`);
      await waitFor(() => (bus.events.length > 0 ? true : null));
      expect(bus.events).toEqual([{ type: "transfer_answered" }]);
      const done = await transferOf(log.id);
      expect(done).toMatchObject({ status: "answered", outcome: "completed", dial_duration_seconds: 42 });
      expect(typeof done.answered_at).toBe("string");
      // A replayed (or contradictory) action changes nothing; the caller isn't pulled back into a finished call.
      const replay = await dialEnded(log, "failed", "0");
      expect(replay.body).toBe(`${XML_DECLARATION}<Response><Hangup/></Response>`);
      expect(await transferOf(log.id)).toEqual(done);
      expect((await getCallLog(h.server.store.db, h.tenantId, log.id))!.metadata).toMatchObject({ end_reason: "transferred" });
    } finally {
      await bus.stop();
    }
  });

  it("says sorry and hangs up when a dial result names a call it has no log of", async () => {
    const res = await twilioRequest("POST", `/webhooks/twilio/${h.tenantId}/transfer-status?call_id=00000000-0000-4000-8000-000000000000`, {
      CallSid: newSid(),
      DialCallStatus: "no-answer",
    });
    const twiml = parseTwiml(res.body);
    expect(twiml.stream).toBeUndefined();
    expect(twiml.hangup).toBe(true);
    expect(twiml.says).toHaveLength(1);
  });

  it("hangs a call up over REST, and counts a call already over as done", async () => {
    const log = await liveCall();
    await callControlFor(deps, controlled(log)).hangUp();
    expect(twilio.updatesOf(log.twilio_call_sid)).toEqual([{ Status: "completed" }]);
    // The fake now answers 20404 for this call, as Twilio does once it is over.
    await expect(callControlFor(deps, controlled(log)).hangUp()).resolves.toBeUndefined();
  });

  it("fails with typed errors: a target that isn't E.164, a call that's over, Twilio refusing, no credentials", async () => {
    const log = await liveCall();
    const bad = callControlFor(deps, controlled(log)).transfer({ ...request, target: { ...request.target, number: "555-0102" } });
    await expect(bad).rejects.toMatchObject({ name: "CallControlError", code: "invalid_target", retryable: false });
    expect(twilio.requests).toHaveLength(0);

    twilio.finish(log.twilio_call_sid);
    const over = callControlFor(deps, controlled(log)).transfer(request);
    await expect(over).rejects.toMatchObject({ code: "call_over" });
    expect(await transferOf(log.id)).toMatchObject({ status: "failed", outcome: "redirect_failed" });

    const wrongToken = { ...deps, config: { ...deps.config, twilio: { ...deps.config.twilio, authToken: "not-the-auth-token" } } };
    const other = await liveCall();
    const refused = callControlFor(wrongToken, controlled(other)).transfer(request);
    await expect(refused).rejects.toBeInstanceOf(CallControlError);
    await expect(refused).rejects.toMatchObject({ code: "twilio_refused", message: expect.stringContaining("401") as unknown });
    await expect(callControlFor(wrongToken, controlled(other)).hangUp()).rejects.toMatchObject({ code: "twilio_refused" });

    const tenant = await createTenant(h.server.store.db, "No Twilio");
    const unconfigured = callControlFor(deps, { ...controlled(other), tenantId: tenant.id });
    await expect(unconfigured.transfer(request)).rejects.toMatchObject({ code: "twilio_unconfigured", message: expect.stringContaining("/tenants/me/twilio") as unknown });
    await expect(unconfigured.hangUp()).rejects.toMatchObject({ code: "twilio_unconfigured" });
  });

  it("won't start a transfer on a call that has ended", async () => {
    const log = await liveCall();
    await finishCallLog(h.server.store.db, h.tenantId, log.id, { status: "completed", endedAt: new Date(), durationSeconds: 30, transcript: [], metadata: {} });
    await expect(callControlFor(deps, controlled(log)).transfer(request)).rejects.toMatchObject({ code: "call_over" });
    expect(twilio.requests).toHaveLength(0);
  });
});

/** Answering machines on calls we place: the agent never greets a machine, and leaves its message after the beep. */
import { readFileSync } from "node:fs";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FakeTwilioRestServer } from "../fakes/twilioRestServer.js";
import { ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, fixture, startHarness, type Harness } from "./harness.js";

const LABELS = JSON.parse(readFileSync(fixture("fixtures.json"), "utf8")) as {
  fixtures: { file: string; beep?: { startMs: number; endMs: number } }[];
};
const BEEP_END_MS = LABELS.fixtures.find((f) => f.file === "voicemail-beep.wav")!.beep!.endMs;
const MESSAGE = "Hi, this is Patchbay about your order. Please call us back at five five five, zero one nine nine.";

/** A second agent with its own caller id, so each test dials as the agent it needs. */
async function agentWithNumber(h: Harness, number: string, settings: Record<string, unknown>): Promise<void> {
  const agent = await h.api<{ id: string }>("POST", "/agents", {
    name: `Dialer ${number}`,
    system_prompt: "You call customers back about their orders.",
    greeting: "Hi, this is Patchbay calling about your order.",
    agent_mode: "both",
    enable_recording_disclosure: false,
    ...settings,
  });
  expect(agent.status, JSON.stringify(agent.body)).toBe(201);
  expect((await h.api("POST", "/phone-numbers", { phone_number: number, agent_id: agent.body.id })).status).toBe(201);
}

/** Twilio's async AMD callback, signed. */
async function amdStatus(h: Harness, callSid: string, answeredBy: string): Promise<number> {
  const path = `/webhooks/twilio/${h.tenantId}/amd-status`;
  const form = { CallSid: callSid, AccountSid: ACCOUNT_SID, AnsweredBy: answeredBy, MachineDetectionDuration: "1400" };
  const res = await fetch(h.server.url + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_URL + path, form) },
    body: new URLSearchParams(form).toString(),
  });
  return res.status;
}

describe("answering machines", () => {
  let h: Harness;
  let twilio: FakeTwilioRestServer;
  beforeAll(async () => {
    twilio = await FakeTwilioRestServer.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    h = await startHarness({ env: { TWILIO_API_BASE_URL: twilio.url, LOCAL_VAD: "webrtc" } });
  });
  afterAll(async () => {
    await h?.close();
    await twilio?.close();
  });

  it("static_message: the message starts within 300 ms of the beep's end and the call is hung up after its last mark", async () => {
    const caller = "+15550100201";
    await agentWithNumber(h, caller, { amd_voicemail_behavior: "static_message", amd_voicemail_message: MESSAGE });
    // A call we placed, answered by a machine: Twilio's AMD never reports, so the local assist decides.
    const result = await h.call({ fixture: fixture("voicemail-beep.wav"), from: caller, to: "+15550177001", extraParams: { Direction: "outbound-api" }, tailMs: 10_000 }).done;
    expect(result.error).toBeNull();
    const firstAgentAudio = result.timeline.find((e) => e.kind === "agent_audio");
    expect(firstAgentAudio, "the agent never spoke").toBeDefined();
    const startsAfterBeep = firstAgentAudio!.atMs - result.streamStartMs! - BEEP_END_MS;
    // Nothing before the beep (no greeting over the machine), and the message right after it.
    expect(startsAfterBeep, `message began ${startsAfterBeep.toFixed(0)} ms after the beep's end`).toBeGreaterThanOrEqual(0);
    expect(startsAfterBeep, `message began ${startsAfterBeep.toFixed(0)} ms after the beep's end`).toBeLessThanOrEqual(300);
    // All of it played: every mark echoed, none cleared; then we hung up (REST) and closed the stream.
    expect(result.marks.length).toBeGreaterThan(0);
    expect(result.marks.every((m) => m.echoedAtMs !== null && !m.cleared)).toBe(true);
    expect(result.counts.agentMsHeard).toBeGreaterThanOrEqual(MESSAGE.length * 60 - 40);
    expect(result.outcome).toBe("server_closed");
    // The REST hang-up and the stream's close leave together; either ends the call at Twilio.
    await vi.waitFor(() => expect(twilio.updatesOf(result.callSid)).toEqual([expect.objectContaining({ Status: "completed" })]));
    const log = await h.finishedCall(result.callSid);
    expect(log).toMatchObject({
      status: "completed",
      metadata: { end_reason: "voicemail_left", amd: { answered_by_local: "machine", greeting_end: { source: "beep" } } },
    });
    expect((log.transcript as { role: string; text: string }[]).filter((l) => l.role === "agent").map((l) => l.text)).toEqual([MESSAGE]);
  });

  it("hangup: Twilio's machine verdict hangs the call up through the REST API at once, with nothing said", async () => {
    const caller = "+15550100202";
    await agentWithNumber(h, caller, { amd_voicemail_behavior: "hangup" });
    const call = h.call({ fixture: fixture("voicemail-beep.wav"), from: caller, to: "+15550177002", extraParams: { Direction: "outbound-api" }, tailMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1_200));
    const before = performance.now();
    expect(await amdStatus(h, call.callSid, "machine_start")).toBe(200);
    for (let waited = 0; twilio.updatesOf(call.callSid).length === 0 && waited < 2_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    const after = performance.now() - before;
    expect(twilio.updatesOf(call.callSid)).toEqual([expect.objectContaining({ Status: "completed" })]);
    expect(after, `hang-up ${after.toFixed(0)} ms after the callback`).toBeLessThan(500);
    const result = await call.done;
    expect(result.counts.agentMsReceived).toBe(0);
    const log = await h.finishedCall(result.callSid);
    expect(log).toMatchObject({ amd_status: "machine_start", metadata: { end_reason: "voicemail_hangup", amd: { decided_by: "twilio" } } });
  });

  it("a person who says hello gets the greeting once Twilio says human", async () => {
    const caller = "+15550100203";
    await agentWithNumber(h, caller, { amd_voicemail_behavior: "hangup" });
    const call = h.call({ fixture: fixture("silence.wav"), from: caller, to: "+15550177003", extraParams: { Direction: "outbound-api" }, tailMs: 3_000 });
    await new Promise((r) => setTimeout(r, 600));
    expect(await amdStatus(h, call.callSid, "human")).toBe(200);
    const result = await call.done;
    expect(result.counts.agentMsReceived).toBeGreaterThan(0);
    expect(twilio.updatesOf(result.callSid)).toEqual([]);
  });
});

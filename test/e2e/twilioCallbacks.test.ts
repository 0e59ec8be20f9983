import { randomUUID } from "node:crypto";
/**
 * Twilio's status, recording and amd-status callbacks against the real server: signed like Twilio,
 * replayed and reordered like Twilio does, read back from the store.
 */
import { randomBytes } from "node:crypto";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCallLog, findCallLogByCallSid, getCallLog, type CallLogRow } from "../../src/storage/index.js";
import { ACCOUNT_SID, AGENT_NUMBER, AUTH_TOKEN, PUBLIC_URL, fixture, startHarness, type Harness } from "./harness.js";

type Callback = "status" | "recording" | "amd-status";

const newSid = (prefix: string) => prefix + randomBytes(16).toString("hex");

describe("Twilio callbacks", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { LOCAL_VAD: "off" } });
  });
  afterAll(async () => h?.close());

  /** POSTs a callback form signed with `token` over the public URL (or `signedUrl`). */
  async function post(name: Callback, form: Record<string, string>, opts: { token?: string; signedUrl?: string; unsigned?: boolean; callId?: string } = {}) {
    const path = `/webhooks/twilio/${h.tenantId}/${name}${opts.callId === undefined ? "" : `?call_id=${opts.callId}`}`;
    const full = { AccountSid: ACCOUNT_SID, ApiVersion: "2010-04-01", ...form };
    const signature = getExpectedTwilioSignature(opts.token ?? AUTH_TOKEN, opts.signedUrl ?? PUBLIC_URL + path, full);
    const res = await fetch(h.server.url + path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(opts.unsigned ? {} : { "x-twilio-signature": signature }) },
      body: new URLSearchParams(full).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** An outbound call log as placement leaves it: initiated, not finished. */
  async function placedLog(): Promise<CallLogRow> {
    return createCallLog(h.server.store.db, h.tenantId, {
      agent_id: h.agentId,
      phone_number_id: null,
      twilio_call_sid: newSid("CA"),
      direction: "outbound",
      from_number: AGENT_NUMBER,
      to_number: "+15550123456",
      status: "initiated",
      started_at: new Date(Date.now() - 60_000),
    });
  }

  const read = async (id: string) => (await getCallLog(h.server.store.db, h.tenantId, id))!;

  it("applies a callback that beats Twilio's REST answer: the placed log adopts the CallSid from the call_id", async () => {
    const log = await createCallLog(h.server.store.db, h.tenantId, {
      agent_id: h.agentId,
      phone_number_id: null,
      twilio_call_sid: `pending:${randomUUID()}`,
      direction: "outbound",
      from_number: AGENT_NUMBER,
      to_number: "+15550123456",
      status: "initiated",
      started_at: new Date(Date.now() - 60_000),
    });
    const sid = newSid("CA");
    expect((await post("status", { CallSid: sid, CallStatus: "busy", CallDuration: "0" }, { callId: log.id })).status).toBe(200);
    expect(await read(log.id)).toMatchObject({ twilio_call_sid: sid, status: "busy" });
    expect((await read(log.id)).ended_at).not.toBeNull();
  });

  it("refuses unsigned, wrongly signed and other-URL-signed callbacks with 403, changing nothing", async () => {
    const log = await placedLog();
    const form = { CallSid: log.twilio_call_sid, CallStatus: "completed", CallDuration: "30" };
    for (const name of ["status", "recording", "amd-status"] as const) {
      expect((await post(name, form, { unsigned: true })).status).toBe(403);
      expect((await post(name, form, { token: "not-the-auth-token" })).status).toBe(403);
      expect((await post(name, form, { signedUrl: `${PUBLIC_URL}/webhooks/twilio/${h.tenantId}/voice` })).status).toBe(403);
    }
    expect(await read(log.id)).toEqual(await read(log.id));
    expect(await read(log.id)).toMatchObject({ status: "initiated", ended_at: null, recording_url: null, amd_status: null });
  });

  it("leaves one consistent row when the same status callback is replayed three times", async () => {
    const log = await placedLog();
    const form = { CallSid: log.twilio_call_sid, CallStatus: "completed", CallDuration: "42", Timestamp: "Tue, 14 Jan 2025 10:00:00 +0000" };
    expect((await post("status", form)).status).toBe(200);
    const once = await read(log.id);
    expect(once).toMatchObject({ status: "completed", duration_seconds: 42 });
    expect(once.ended_at?.toISOString()).toBe("2025-01-14T10:00:00.000Z");
    const replays = await Promise.all([post("status", form), post("status", form)]);
    expect(replays.map((r) => r.status)).toEqual([200, 200]);
    expect(await read(log.id)).toEqual(once);
    const rows = await h.server.store.db.selectFrom("call_logs").select("id").where("twilio_call_sid", "=", log.twilio_call_sid).execute();
    expect(rows).toHaveLength(1);
  });

  it("only moves forward: a late ringing after completed, or after in-progress, changes nothing", async () => {
    const log = await placedLog();
    const sid = log.twilio_call_sid;
    await post("status", { CallSid: sid, CallStatus: "ringing" });
    expect((await read(log.id)).status).toBe("ringing");
    await post("status", { CallSid: sid, CallStatus: "in-progress" });
    await post("status", { CallSid: sid, CallStatus: "ringing" });
    expect((await read(log.id)).status).toBe("in-progress");
    await post("status", { CallSid: sid, CallStatus: "completed", CallDuration: "7" });
    const done = await read(log.id);
    for (const late of ["ringing", "in-progress", "initiated", "busy", "failed"]) {
      expect((await post("status", { CallSid: sid, CallStatus: late, CallDuration: "99" })).status).toBe(200);
    }
    expect(await read(log.id)).toEqual(done);
    expect(done).toMatchObject({ status: "completed", duration_seconds: 7 });
  });

  it("finishes a call nobody answered with Twilio's status", async () => {
    const log = await placedLog();
    await post("status", { CallSid: log.twilio_call_sid, CallStatus: "busy", CallDuration: "0" });
    const busy = await read(log.id);
    expect(busy).toMatchObject({ status: "busy", duration_seconds: 0 });
    expect(busy.ended_at).not.toBeNull();
    expect(busy.metadata).toMatchObject({ end_reason: "twilio_status", twilio_status: "busy" });
  });

  it("stores the recording's URL and duration", async () => {
    const log = await placedLog();
    const url = `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/RE0123`;
    const form = { CallSid: log.twilio_call_sid, RecordingSid: "RE0123", RecordingUrl: url, RecordingDuration: "37", RecordingStatus: "completed" };
    expect((await post("recording", form)).status).toBe(200);
    expect((await post("recording", form)).status).toBe(200);
    const stored = await read(log.id);
    expect(stored.recording_url).toBe(url);
    expect(stored.metadata).toMatchObject({ recording_sid: "RE0123", recording_duration_seconds: 37 });
  });

  it("stores the AMD verdict and hands it to the live call", async () => {
    const callSid = newSid("CA");
    const handle = h.call({ fixture: fixture("silence.wav"), callSid, tailMs: 2_000 });
    const live = await waitFor(async () => {
      const log = await findCallLogByCallSid(h.server.store.db, h.tenantId, callSid);
      return log && h.server.sessions.get(log.id) ? log : null;
    });
    const res = await post("amd-status", { CallSid: callSid, AnsweredBy: "machine_end_beep", MachineDetectionDuration: "4123" });
    expect(res.status).toBe(200);
    expect(await read(live.id)).toMatchObject({ amd_status: "machine_end_beep", amd_detection_ms: 4123 });
    await handle.done;
    const finished = await waitFor(async () => {
      const log = await read(live.id);
      return log.ended_at !== null ? log : null;
    });
    expect(finished.metadata).toMatchObject({ amd: { answered_by: "machine_end_beep", detection_ms: 4123 } });
  });

  it("answers 200 and changes nothing for a CallSid it has no log of", async () => {
    const unknown = newSid("CA");
    expect((await post("status", { CallSid: unknown, CallStatus: "completed", CallDuration: "5" })).status).toBe(200);
    expect((await post("recording", { CallSid: unknown, RecordingUrl: "https://api.twilio.com/x", RecordingSid: "RE1" })).status).toBe(200);
    expect((await post("amd-status", { CallSid: unknown, AnsweredBy: "human" })).status).toBe(200);
    expect(await findCallLogByCallSid(h.server.store.db, h.tenantId, unknown)).toBeNull();
  });

  it("answers 422 naming a missing field of a signed callback", async () => {
    const res = await post("status", { CallSid: newSid("CA") });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toContain("CallStatus");
  });
});

async function waitFor<T>(probe: () => Promise<T | null | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined) return value;
    if (performance.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

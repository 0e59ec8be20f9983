/** Max silence and max duration end a live call with their closing lines, heard by the caller, then a hang-up. */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CALL_LINES } from "../../src/calls/callPolicy.js";
import { FakeTwilioRestServer } from "../fakes/twilioRestServer.js";
import { ACCOUNT_SID, AUTH_TOKEN, fixture, startHarness, type Harness } from "./harness.js";

type Line = { role: string; text: string };
const agentLines = (log: Record<string, unknown>): string[] => (log.transcript as Line[]).filter((l) => l.role === "agent").map((l) => l.text);

describe("call limits", () => {
  let h: Harness;
  let twilio: FakeTwilioRestServer;
  beforeAll(async () => {
    twilio = await FakeTwilioRestServer.start({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    h = await startHarness({ env: { TWILIO_API_BASE_URL: twilio.url, LOCAL_VAD: "webrtc" }, agent: { enable_recording_disclosure: false } });
  });
  afterAll(async () => {
    await h?.close();
    await twilio?.close();
  });

  it("max silence: one are-you-still-there, then a goodbye the caller hears, then a hang-up", async () => {
    expect((await h.api("PATCH", `/agents/${h.agentId}`, { max_silence_seconds: 2, max_call_duration_minutes: 0 })).status).toBe(200);
    const result = await h.call({ fixture: fixture("silence.wav"), tailMs: 20_000 }).done;
    expect(result.outcome).toBe("server_closed");
    // Every line played to its end: all marks echoed by playback, none cleared.
    expect(result.marks.every((m) => m.echoedAtMs !== null && !m.cleared)).toBe(true);
    expect(result.counts.agentMsHeard).toBe(result.counts.agentMsReceived);
    const log = await h.finishedCall(result.callSid);
    expect(log.metadata).toMatchObject({ end_reason: "max_silence", still_there_prompts: 1 });
    expect(agentLines(log).slice(-2)).toEqual([CALL_LINES.stillThere, CALL_LINES.silenceGoodbye]);
    await vi.waitFor(() => expect(twilio.updatesOf(result.callSid)).toEqual([expect.objectContaining({ Status: "completed" })]));
  });

  it("max duration: the closing line cuts in at the limit, plays to its end, then a hang-up", async () => {
    expect((await h.api("PATCH", `/agents/${h.agentId}`, { max_silence_seconds: 0 })).status).toBe(200);
    // The API's smallest limit is one minute; six seconds here keeps the test short. Same code path.
    await sql`update agents set settings = settings || '{"max_call_duration_minutes": 0.1}'::jsonb where id = ${h.agentId}`.execute(h.server.store.db);
    const result = await h.call({ fixture: fixture("silence.wav"), tailMs: 20_000 }).done;
    expect(result.outcome).toBe("server_closed");
    const log = await h.finishedCall(result.callSid);
    expect(log.metadata).toMatchObject({ end_reason: "max_duration" });
    expect(agentLines(log).at(-1)).toBe(CALL_LINES.maxDuration);
    const closing = result.marks.filter((m) => !m.cleared);
    expect(closing.every((m) => m.echoedAtMs !== null)).toBe(true);
    expect(result.durationMs).toBeGreaterThan(6_000);
    expect(result.durationMs).toBeLessThan(6_000 + CALL_LINES.maxDuration.length * 60 + 3_000);
    await vi.waitFor(() => expect(twilio.updatesOf(result.callSid)).toEqual([expect.objectContaining({ Status: "completed" })]));
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_NUMBER, fixture, fixtureAudio, startHarness, type Harness } from "./harness.js";

const GREETING = { text: "Hello there.", audio: fixtureAudio("agent-reply.wav") };

describe("bad input loses nothing", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fake: { replies: [GREETING] } });
  });
  afterAll(async () => h?.close());

  it("refuses a voice webhook with a wrong signature (403) and creates no call", async () => {
    const result = await h.call({ fixture: fixture("silence.wav"), webhookSignature: "invalid" }).done;
    expect(result.outcome).toBe("http_error");
    expect(result.webhook?.status).toBe(403);
    const list = await h.api<{ calls: { twilio_call_sid: string }[] }>("GET", "/calls");
    expect(list.body.calls.some((c) => c.twilio_call_sid === result.callSid)).toBe(false);
  });

  it("refuses the media upgrade with a wrong signature (403)", async () => {
    const result = await h.call({ fixture: fixture("silence.wav"), streamSignature: "invalid" }).done;
    expect(result.outcome).toBe("stream_refused");
    expect(result.error ?? "").toContain("403");
  });

  it("counts malformed frames mid-call and carries on", async () => {
    const handle = h.call({ fixture: fixture("silence.wav"), tailMs: 1_000 });
    setTimeout(() => {
      handle.injectRaw("{this is not json");
      handle.injectRaw(JSON.stringify({ event: "surprise", streamSid: handle.streamSid }));
      handle.injectRaw(JSON.stringify({ event: "media", streamSid: handle.streamSid, media: { track: "inbound", chunk: "9", timestamp: "999", payload: "%%%not-base64%%%" } }));
      handle.injectRaw(Buffer.from([1, 2, 3]));
    }, 1_000);
    const result = await handle.done;
    expect(result.outcome).toBe("completed");
    const log = await h.finishedCall(result.callSid);
    expect(log.status).toBe("completed");
    const media = (log.metadata as { media: { malformed_frames: number; frame_faults: Record<string, number> } }).media;
    expect(media.malformed_frames).toBe(4);
    expect(media.frame_faults).toMatchObject({ malformed_json: 1, unknown_event: 1, bad_base64: 1, binary_frame: 1 });
    const health = (await (await fetch(`${h.server.url}/health`)).json()) as { frame_faults: Record<string, number> };
    expect(health.frame_faults.malformed_json).toBeGreaterThanOrEqual(1);
  });

  it("ends the call cleanly with the reason when the provider socket drops mid-call", async () => {
    const handle = h.call({ fixture: fixture("silence.wav"), tailMs: 5_000 });
    setTimeout(() => h.fake.dropConnection(), 1_500);
    const result = await handle.done;
    expect(result.outcome).toBe("server_closed");
    const log = await h.finishedCall(result.callSid);
    expect(log.status).toBe("failed");
    expect(log.ended_at).not.toBeNull();
    expect(log.duration_seconds).toBeGreaterThanOrEqual(1);
    expect(log.metadata).toMatchObject({ end_reason: "provider_error" });
    expect(String((log.metadata as { end_detail: string }).end_detail)).not.toBe("");
  });

  it("says sorry and hangs up on an unknown number, and logs why", async () => {
    const result = await h.call({ fixture: fixture("silence.wav"), to: "+15550100999" }).done;
    expect(result.outcome).toBe("no_stream");
    expect(result.twiml?.hangup).toBe(true);
    expect(result.twiml?.says.length).toBe(1);
    const log = await h.finishedCall(result.callSid);
    expect(log).toMatchObject({ status: "failed", to_number: "+15550100999", agent_id: null });
    expect(log.metadata).toMatchObject({ end_reason: "unknown_number" });
  });

  it("says sorry on an inactive agent", async () => {
    const agent = await h.api<{ id: string }>("POST", "/agents", { name: "Off", system_prompt: "x", is_active: false });
    await h.api("POST", "/phone-numbers", { phone_number: "+15550100002", agent_id: agent.body.id });
    const result = await h.call({ fixture: fixture("silence.wav"), to: "+15550100002" }).done;
    expect(result.outcome).toBe("no_stream");
    const log = await h.finishedCall(result.callSid);
    expect(log.metadata).toMatchObject({ end_reason: "agent_inactive" });
    void AGENT_NUMBER;
  });
});

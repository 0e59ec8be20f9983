import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureAudio, startHarness, type Harness } from "./harness.js";

const GREETING = { text: "Hello, thanks for calling Patchbay. How can I help you today?", audio: fixtureAudio("agent-greeting.wav") };
const REPLY = { text: "We open at nine in the morning.", audio: fixtureAudio("agent-reply.wav") };

describe("one phone call, end to end", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fake: { replies: [GREETING, REPLY], callerTexts: ["Hi, what time do you open tomorrow?"] } });
  });
  afterAll(async () => h?.close());

  it("bridges the caller to the provider byte-for-byte, plays greeting and reply, and logs the call", async () => {
    const caller = fixtureAudio("caller-question.wav");
    const result = await h.call({ fixture: fixture("caller-question.wav"), tailMs: 2_500 }).done;
    expect(result.error).toBeNull();
    expect(result.outcome).toBe("completed");

    // Every caller byte reached the provider unchanged and in order (then the simulator's tail of silence).
    const heardByProvider = h.fake.inputAudio();
    expect(heardByProvider.length).toBeGreaterThanOrEqual(caller.length);
    expect(heardByProvider.subarray(0, caller.length).equals(caller)).toBe(true);

    // The caller heard the whole greeting and the reply.
    const greetingMs = GREETING.audio.length / 8;
    const replyMs = REPLY.audio.length / 8;
    expect(result.counts.agentMsReceived).toBeGreaterThanOrEqual(greetingMs + replyMs - 20);
    expect(result.counts.agentMsHeard).toBeGreaterThan(greetingMs);
    expect(result.clears).toHaveLength(0);
    expect(result.protocolErrors).toEqual([]);

    const log = await h.finishedCall(result.callSid);
    expect(log).toMatchObject({ status: "completed", direction: "inbound", voice_provider: "openai", agent_id: h.agentId });
    expect(log.duration_seconds).toBeGreaterThanOrEqual(5);
    const transcript = log.transcript as { role: string; text: string; at_ms: number }[];
    expect(transcript.map((t) => t.role)).toEqual(expect.arrayContaining(["agent", "caller"]));
    expect(transcript.find((t) => t.role === "caller")?.text).toBe("Hi, what time do you open tomorrow?");
    expect(transcript.find((t) => t.role === "agent")?.text).toBe(GREETING.text);
    expect((log.metadata as Record<string, unknown>).end_reason).toBe("stream_stopped");

    // The provider got the agent's settings in the GA shape, μ-law both ways.
    const update = h.fake.received.find((e) => e.type === "session.update");
    expect(update).toMatchObject({
      session: { type: "realtime", audio: { input: { format: { type: "audio/pcmu" } }, output: { format: { type: "audio/pcmu" } } } },
    });

    const one = await h.api("GET", `/calls/${String(log.id)}`);
    expect(one.status).toBe(200);
    expect(one.body.transcript).toEqual(transcript);
  });

  it("answers /health", async () => {
    const res = await fetch(`${h.server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ok", storage: "pglite" });
  });
});

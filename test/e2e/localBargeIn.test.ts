import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureAudio, startHarness, type Harness } from "./harness.js";

const GREETING = { text: "Hello, thanks for calling Patchbay. How can I help you today?", audio: fixtureAudio("agent-greeting.wav") };
const REPLY = { text: "Of course.", audio: fixtureAudio("agent-reply.wav") };
const LABELS = JSON.parse(readFileSync(fixture("fixtures.json"), "utf8")) as { fixtures: { file: string; speechOnsetMs: number | null }[] };
const onsetOf = (file: string): number => LABELS.fixtures.find((f) => f.file === file)!.speechOnsetMs!;

/** Barge-in must not wait for the provider: its own speech event is held back 500 ms here. */
describe.each(["silero", "webrtc"] as const)("local barge-in (%s VAD)", (vad) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fake: { replies: [GREETING, REPLY], speechStartedDelayMs: 500 }, env: { LOCAL_VAD: vad } });
  });
  afterAll(async () => h?.close());

  it("clears Twilio within 250 ms of the caller's speech onset", async () => {
    const result = await h.call({ fixture: fixture("caller-barge-in.wav"), tailMs: 1_500 }).done;
    expect(result.error).toBeNull();
    expect(result.clears).toHaveLength(1);
    const onsetAt = result.streamStartMs! + onsetOf("caller-barge-in.wav");
    const latency = result.clears[0]!.atMs - onsetAt;
    expect(latency, `clear ${latency.toFixed(0)} ms after the onset`).toBeGreaterThan(0);
    expect(latency, `clear ${latency.toFixed(0)} ms after the onset`).toBeLessThanOrEqual(250);
    const log = await h.finishedCall(result.callSid);
    expect(log.metadata).toMatchObject({ barge_ins: 1, barge_ins_by: { local_vad: 1, provider_vad: 0 } });
  });

  it("does not barge in on a backchannel", async () => {
    // The "uh-huh" lands 2 s into the greeting. The fake provider's crude energy VAD may still react
    // (after its 500 ms delay), as a real server VAD might; the local VAD must not.
    const audio = Buffer.concat([Buffer.alloc(8 * 1000, 0xff), fixtureAudio("backchannel.wav")]);
    const result = await h.call({ fixture: audio, tailMs: 3_000 }).done;
    const log = await h.finishedCall(result.callSid);
    expect(log.metadata).toMatchObject({ barge_ins_by: { local_vad: 0 } });
  });
});

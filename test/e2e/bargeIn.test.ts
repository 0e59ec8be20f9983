import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixture, fixtureAudio, startHarness, type Harness } from "./harness.js";

const GREETING = { text: "Hello, thanks for calling Patchbay. How can I help you today?", audio: fixtureAudio("agent-greeting.wav") };
const REPLY = { text: "Of course, let me help with your bill.", audio: fixtureAudio("agent-reply.wav") };

// Real providers generate faster than real time ("burst"): the reply may be done while Twilio still plays it.
describe.each(["realtime", "burst"] as const)("barge-in (provider audio paced %s)", (audioPacing) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fake: { replies: [GREETING, REPLY], audioPacing } });
  });
  afterAll(async () => h?.close());

  it("clears Twilio and truncates the reply at what the caller actually heard", async () => {
    const result = await h.call({ fixture: fixture("caller-barge-in.wav"), tailMs: 2_500 }).done;
    expect(result.error).toBeNull();

    // The caller talked over the greeting: exactly one clear, while the greeting was still playing.
    expect(result.clears.length).toBe(1);
    const clear = result.clears[0]!;
    expect(clear.playedMs).toBeGreaterThan(0);
    expect(clear.playedMs).toBeLessThan(GREETING.audio.length / 8);

    // The model's memory is cut where the caller stopped hearing it (±40 ms).
    expect(h.fake.truncates).toHaveLength(1);
    const truncate = h.fake.truncates[0]!;
    expect(truncate.content_index).toBe(0);
    expect(Math.abs(truncate.audio_end_ms - clear.playedMs)).toBeLessThanOrEqual(40);
    // A reply still being generated is cancelled; one already fully sent only needs the truncate.
    const cancels = h.fake.received.filter((e) => e.type === "response.cancel").length;
    expect(cancels).toBe(audioPacing === "realtime" ? 1 : 0);

    // Nothing of the interrupted greeting reached the caller after the clear: only the reply did.
    const afterClear = result.marks.filter((m) => m.receivedAtMs > clear.atMs);
    expect(afterClear.every((m) => m.name.startsWith("1:"))).toBe(true);
    const replyMs = REPLY.audio.length / 8;
    expect(result.counts.agentMsReceived).toBeLessThanOrEqual(GREETING.audio.length / 8 + replyMs);

    // Marks Twilio echoed because of the clear didn't count as played.
    const log = await h.finishedCall(result.callSid);
    const meta = log.metadata as { barge_ins: number; media: { stale_mark_echoes: number } };
    expect(meta.barge_ins).toBe(1);
    expect(meta.media.stale_mark_echoes).toBe(clear.flushedMarks.length);
  });
});

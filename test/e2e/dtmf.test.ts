import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallHandle } from "../sim/callTypes.js";
import { fixture, fixtureAudio, startHarness, type Harness } from "./harness.js";

const GREETING = { text: "Hello there.", audio: fixtureAudio("agent-reply.wav") };
/** Gap between key presses: well inside the batching window, like a caller typing a PIN. */
const KEY_GAP_MS = 100;

describe("keypad digits reach the model as context", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fake: { replies: [GREETING] } });
  });
  afterAll(async () => h?.close());

  it("batches keys pressed together into one conversation item, asks for no reply, and logs them", async () => {
    let responsesBefore = -1;
    let pressed = false;
    // Keys go once the agent is heard: the call is bridged both ways by then.
    const handle: CallHandle = h.call({
      fixture: fixture("silence.wav"),
      tailMs: 2_000,
      onEvent: (entry) => {
        if (entry.kind !== "agent_audio" || pressed) return;
        pressed = true;
        responsesBefore = h.fake.received.filter((e) => e.type === "response.create").length;
        ["1", "2", "3", "4"].forEach((digit, i) => setTimeout(() => handle.sendDtmf(digit), i * KEY_GAP_MS));
      },
    });
    const result = await handle.done;
    expect(result.error).toBeNull();
    expect(result.counts.dtmfSent).toBe(4);

    const items = h.fake.received.filter((e) => e.type === "conversation.item.create");
    expect(items).toEqual([
      {
        type: "conversation.item.create",
        item: { type: "message", role: "user", content: [{ type: "input_text", text: "The caller entered 1234 on the keypad." }] },
      },
    ]);
    expect(h.fake.received.filter((e) => e.type === "response.create").length).toBe(responsesBefore);

    const log = await h.finishedCall(result.callSid);
    const dtmf = (log.metadata as { dtmf?: { digit: string; at_ms: number }[] }).dtmf;
    expect(dtmf?.map((d) => d.digit)).toEqual(["1", "2", "3", "4"]);
    const times = dtmf!.map((d) => d.at_ms);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const transcript = log.transcript as { role: string; text: string; at_ms: number }[];
    expect(transcript).toContainEqual({ role: "caller", text: "[keypad] 1234", at_ms: times[0] });
  });
});

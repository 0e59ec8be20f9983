/** `say` and `requestReply` on the scripted voice: a spoken line of its own, the script's next line, and recordings for tests. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MULAW_BYTES_PER_MS } from "../../media/audioFormat.js";
import {
  GENERIC_REPLY_TEXT,
  ScriptedProvider,
  spokenDurationMs,
  type Script,
  type ScriptLine,
} from "../../providers/scripted/index.js";
import type { RealtimeSession } from "../../providers/types.js";
import { decodedAudio, only, recordingHandlers } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const GREETING = { text: "Hello from the script.", audio: Buffer.alloc(450 * MULAW_BYTES_PER_MS, 0x11) };
const ANSWER: ScriptLine = { kind: "reply", text: "We open at nine.", audio: Buffer.alloc(300 * MULAW_BYTES_PER_MS, 0x22), caller: "When do you open?", toolCall: null };

const sessions: RealtimeSession[] = [];

async function connect(lines: readonly ScriptLine[]) {
  const script: Script = { greeting: GREETING, lines };
  const provider = new ScriptedProvider({ script });
  const { handlers, seen } = recordingHandlers();
  const session = await provider.connect(testSessionConfig(), handlers, new AbortController().signal);
  sessions.push(session);
  return { session, controls: provider.sessions.at(-1)!, seen };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.close();
  vi.useRealTimers();
});

describe("scripted session: say", () => {
  it("speaks exactly the text, with audio whose length grows with the text, and ends the reply", async () => {
    const { session, controls, seen } = await connect([ANSWER]);
    session.say("Goodbye.");
    await vi.runAllTimersAsync();
    session.say("We've reached our time limit, thank you for calling, goodbye.");
    await vi.runAllTimersAsync();

    const [short, long] = only(seen, "responseDone");
    expect(only(seen, "transcript").map((t) => [t.role, t.text, t.final])).toEqual([
      ["agent", "Goodbye.", true],
      ["agent", "We've reached our time limit, thank you for calling, goodbye.", true],
    ]);
    expect([short?.status, long?.status]).toEqual(["completed", "completed"]);
    const shortMs = decodedAudio(seen, short!.itemId!).length / MULAW_BYTES_PER_MS;
    const longMs = decodedAudio(seen, long!.itemId!).length / MULAW_BYTES_PER_MS;
    expect(shortMs).toBe(spokenDurationMs("Goodbye."));
    expect(longMs).toBeGreaterThan(shortMs);
    expect(controls.said()).toEqual(["Goodbye.", "We've reached our time limit, thank you for calling, goodbye."]);
  });

  it("waits for the reply in progress, then speaks", async () => {
    const { session, seen } = await connect([ANSWER]);
    session.startGreeting();
    await vi.advanceTimersByTimeAsync(0);
    session.say("Goodbye.");
    await vi.runAllTimersAsync();
    expect(only(seen, "transcript").map((t) => t.text)).toEqual([GREETING.text, "Goodbye."]);
    expect(only(seen, "responseDone").map((d) => d.status)).toEqual(["completed", "completed"]);
  });
});

describe("scripted session: requestReply", () => {
  it("answers with the script's next line and records the instructions", async () => {
    const { session, controls, seen } = await connect([ANSWER]);
    session.requestReply("Leave a short message.");
    await vi.runAllTimersAsync();
    session.requestReply(null);
    await vi.runAllTimersAsync();
    // No caller turn happened: the line's stand-in caller transcript is not reported.
    expect(only(seen, "transcript").map((t) => [t.role, t.text])).toEqual([["agent", "We open at nine."], ["agent", "We open at nine."]]);
    expect(controls.replyRequests()).toEqual(["Leave a short message.", null]);
  });

  it("says a short generic line when the script has no reply lines", async () => {
    const { session, seen } = await connect([]);
    session.requestReply(null);
    await vi.runAllTimersAsync();
    expect(only(seen, "transcript").map((t) => t.text)).toEqual([GENERIC_REPLY_TEXT]);
    expect(only(seen, "responseDone")).toHaveLength(1);
  });
});

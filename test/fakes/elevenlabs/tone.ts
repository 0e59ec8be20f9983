/** The fake agent's default voice: the shared fake tone, with the agent's default line. */
import { fadedTone } from "../tone.js";
import type { FakeAgentReply } from "./fakeReply.js";

export const DEFAULT_REPLY_TEXT = "Hello, this is the fake ElevenLabs agent.";

export function toneReply(text = DEFAULT_REPLY_TEXT, durationMs = 1_500, hz = 660): FakeAgentReply {
  return { text, audio: fadedTone(durationMs, hz) };
}

/** The fake agent's default voice: a tone with short fades, unmistakable in a recording and loud enough for a VAD. */
import { linearToMulaw } from "../../../media/g711.js";
import type { FakeAgentReply } from "./fakeReply.js";

export const DEFAULT_REPLY_TEXT = "Hello, this is the fake ElevenLabs agent.";

export function toneReply(text = DEFAULT_REPLY_TEXT, durationMs = 1_500, hz = 660): FakeAgentReply {
  const samples = durationMs * 8;
  const fade = 160;
  const audio = Buffer.alloc(samples);
  for (let i = 0; i < samples; i++) {
    const envelope = Math.min(1, i / fade, (samples - 1 - i) / fade);
    audio[i] = linearToMulaw(Math.round(8000 * envelope * Math.sin((2 * Math.PI * hz * i) / 8000)));
  }
  return { text, audio };
}

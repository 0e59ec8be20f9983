/**
 * `npm run fake:openai`: the loopback fake OpenAI Realtime server on its own, answering with the agent
 * fixtures, so `npm start` + `npm run sim` can show a whole call without a key. Stops on Ctrl-C.
 */
import { readFileSync } from "node:fs";
import { loadMulaw } from "../sim/twilioSimulator.js";
import { FAKE_OPENAI_API_KEY, FakeOpenAIRealtimeServer } from "./openaiRealtimeServer.js";

const line = (file: string, text: string) => ({ text, audio: loadMulaw(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url))) });

const fake = await FakeOpenAIRealtimeServer.start({
  replies: [line("agent-greeting.wav", "Hello, thanks for calling Patchbay. How can I help you today?"), line("agent-reply.wav", "We open at nine in the morning.")],
  callerTexts: ["Hi, what time do you open tomorrow?"],
});
console.log(`fake OpenAI Realtime listening. Start Patchbay with:\n  OPENAI_BASE_URL=${fake.url} OPENAI_API_KEY=${FAKE_OPENAI_API_KEY}`);
process.once("SIGINT", () => void fake.close().then(() => process.exit(0)));
process.once("SIGTERM", () => void fake.close().then(() => process.exit(0)));

/**
 * `npm run fake:openai`: the loopback fake realtime server on its own, answering with the agent fixtures,
 * so `npm start` + `npm run sim` can show a whole call without a key. `npm run fake:openai -- --xai`
 * serves the xAI Grok voice dialect instead. Stops on Ctrl-C.
 */
import { readFileSync } from "node:fs";
import { loadMulaw } from "../sim/twilioSimulator.js";
import { FAKE_OPENAI_API_KEY, FAKE_XAI_API_KEY, FakeOpenAIRealtimeServer } from "./openaiRealtimeServer.js";

const line = (file: string, text: string) => ({ text, audio: loadMulaw(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url))) });
const xai = process.argv.includes("--xai");

const fake = await FakeOpenAIRealtimeServer.start({
  dialect: xai ? "xai" : "openai",
  replies: [line("agent-greeting.wav", "Hello, thanks for calling Patchbay. How can I help you today?"), line("agent-reply.wav", "We open at nine in the morning.")],
  callerTexts: ["Hi, what time do you open tomorrow?"],
});
const env = xai ? `XAI_BASE_URL=${fake.url} XAI_API_KEY=${FAKE_XAI_API_KEY}` : `OPENAI_BASE_URL=${fake.url} OPENAI_API_KEY=${FAKE_OPENAI_API_KEY}`;
console.log(`fake ${xai ? "xAI Grok voice" : "OpenAI Realtime"} listening. Start Patchbay with:\n  ${env}`);
process.once("SIGINT", () => void fake.close().then(() => process.exit(0)));
process.once("SIGTERM", () => void fake.close().then(() => process.exit(0)));

/** xAI Grok voice's conformance double: the fake realtime server in its xAI dialect (hybrid session, no truncate/cancel). */
import { FAKE_XAI_API_KEY, FakeOpenAIRealtimeServer } from "../../fakes/openaiRealtimeServer.js";
import type { StartConformanceFake } from "../contract.js";
import { RealtimeServerConformanceFake } from "./openai.js";

export const startXaiConformanceFake: StartConformanceFake = async (options) => {
  const server = await FakeOpenAIRealtimeServer.start({ dialect: "xai", replies: options.replies, callerTexts: options.callerTexts });
  return new RealtimeServerConformanceFake(server, {
    provider: "xai",
    env: { XAI_API_KEY: FAKE_XAI_API_KEY, XAI_BASE_URL: server.url },
    agent: { voice: "ara" },
  });
};

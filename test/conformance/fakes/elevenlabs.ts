/** The ElevenLabs Agents loopback fake behind the conformance contract (μ-law 8 kHz both ways, as for phone agents). */
import type { ConformanceFake, StartConformanceFake } from "../contract.js";
import { FAKE_ELEVENLABS_API_KEY, FakeElevenLabsServer } from "../../fakes/elevenlabsServer.js";

export const startElevenLabsConformanceFake: StartConformanceFake = async (options) => {
  const server = await FakeElevenLabsServer.start({ replies: options.replies, callerTexts: options.callerTexts });
  const fake: ConformanceFake = {
    provider: "elevenlabs",
    env: { ELEVENLABS_API_KEY: FAKE_ELEVENLABS_API_KEY, ELEVENLABS_BASE_URL: server.url },
    agent: { elevenlabs_agent_id: server.agentId },
    network: true,
    resumesAfterDrop: false,
    inputAudioMulaw: () => server.inputAudio(),
    connectionCount: () => server.connectionCount,
    dropConnection: () => server.dropConnection(),
    sendError: (message) => server.sendError(message),
    requestToolCall: (name, args) => server.requestToolCall(name, args),
    replyRequests: () => server.userMessages,
    waitForToolResult: async (callId, timeoutMs) => (await server.waitForToolResult(callId, timeoutMs)).result,
    close: () => server.close(),
  };
  return fake;
};

/** `say` and `requestReply` on the ElevenLabs wire: a `user_message` the agent answers, and the quiet gap that ends a reply. */
import { afterEach, describe, expect, it } from "vitest";
import { ElevenLabsAgentsProvider } from "../../providers/elevenlabs/index.js";
import { REPLY_QUIET_END_MS } from "../../providers/elevenlabs/replyQuiet.js";
import { CONTINUE_PROMPT } from "../../providers/elevenlabs/wire.js";
import type { RealtimeSession } from "../../providers/types.js";
import { FAKE_ELEVENLABS_API_KEY, FakeElevenLabsServer, toneReply, type FakeElevenLabsOptions } from "../fakes/elevenlabsServer.js";
import { only, recordingHandlers, until } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const LINE = "We've reached our time limit, goodbye.";
const VERBATIM = `Say exactly this, word for word, and nothing else: "${LINE}"`;

let fake: FakeElevenLabsServer | null = null;
let session: RealtimeSession | null = null;

async function connected(options: FakeElevenLabsOptions = {}, aiSpeaksFirst = false) {
  fake = await FakeElevenLabsServer.start({ audioPacing: "burst", ...options });
  const { handlers, seen } = recordingHandlers();
  const provider = new ElevenLabsAgentsProvider({ apiKey: FAKE_ELEVENLABS_API_KEY, baseUrl: fake.url });
  const config = testSessionConfig({ aiSpeaksFirst, agent: { elevenlabs_agent_id: fake.agentId } });
  session = await provider.connect(config, handlers, new AbortController().signal);
  return { server: fake, session, seen };
}

afterEach(async () => {
  session?.close();
  session = null;
  await fake?.close();
  fake = null;
});

describe("ElevenLabs adapter: say and requestReply", () => {
  it("say sends the verbatim request as a user_message; the reply ends after its audio goes quiet", async () => {
    const { server, session, seen } = await connected();
    session.say(LINE);
    expect(await server.waitForMessage("user_message")).toEqual({ type: "user_message", text: VERBATIM });
    await until(() => only(seen, "transcript").some((t) => t.text === LINE), "the line");
    const audioAt = performance.now();
    await until(() => only(seen, "responseDone").length === 1, "the quiet end", REPLY_QUIET_END_MS + 2_000);
    expect(performance.now() - audioAt).toBeGreaterThanOrEqual(REPLY_QUIET_END_MS - 100);
    expect(only(seen, "responseDone")[0]).toMatchObject({ status: "completed", itemId: only(seen, "audio")[0]?.itemId });
  });

  it("requestReply sends its instructions as a user_message, and null as the neutral continue prompt", async () => {
    const { server, session, seen } = await connected();
    session.requestReply("Leave a short message.");
    await until(() => only(seen, "responseDone").length === 1, "the first reply", REPLY_QUIET_END_MS + 2_000);
    session.requestReply(null);
    await server.waitForMessage("user_message", 2);
    expect(server.userMessages).toEqual(["Leave a short message.", CONTINUE_PROMPT]);
  });

  it("say while the agent speaks waits for that reply to end instead of cutting it off", async () => {
    const { server, session, seen } = await connected({ audioPacing: "realtime", replies: [toneReply("A long greeting.", 1_000)] }, true);
    session.startGreeting();
    await until(() => only(seen, "audio").length > 0, "the greeting's audio");
    session.say(LINE);
    expect(server.userMessages).toEqual([]);
    await until(() => only(seen, "transcript").some((t) => t.text === LINE), "the line", 8_000);
    expect(only(seen, "speechStarted")).toEqual([]);
    expect(only(seen, "responseDone")[0]?.status).toBe("completed");
  });
});

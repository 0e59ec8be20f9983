/** `say` and `requestReply` on the wire for the GA Realtime adapters: OpenAI (response.instructions) and xAI (a user item, then response.create). */
import { afterEach, describe, expect, it } from "vitest";
import { OpenAIRealtimeProvider } from "../../providers/openai/index.js";
import { XaiRealtimeProvider } from "../../providers/xai/index.js";
import type { ProviderSessionConfig, RealtimeSession } from "../../providers/types.js";
import {
  FAKE_OPENAI_API_KEY,
  FAKE_XAI_API_KEY,
  FakeOpenAIRealtimeServer,
  toneReply,
  type FakeDialect,
} from "../fakes/openaiRealtimeServer.js";
import { only, recordingHandlers, sleep, until } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const LINE = "We've reached our time limit, goodbye.";
const VERBATIM = `Say exactly this, word for word, and nothing else: "${LINE}"`;

let fake: FakeOpenAIRealtimeServer | null = null;
let session: RealtimeSession | null = null;

async function connected(dialect: FakeDialect, config: ProviderSessionConfig = testSessionConfig({ voice: dialect === "xai" ? "ara" : "marin" })) {
  fake = await FakeOpenAIRealtimeServer.start({ dialect, audioPacing: "burst", replies: [toneReply("Hello there.", 300)] });
  const provider =
    dialect === "xai"
      ? new XaiRealtimeProvider({ apiKey: FAKE_XAI_API_KEY, baseURL: fake.url })
      : new OpenAIRealtimeProvider({ apiKey: FAKE_OPENAI_API_KEY, baseURL: fake.url, model: "gpt-realtime" });
  const { handlers, seen } = recordingHandlers();
  session = await provider.connect(config, handlers, new AbortController().signal);
  await fake.waitForClientEvent("session.update");
  return { server: fake, session, seen };
}

afterEach(async () => {
  session?.close();
  session = null;
  await fake?.close();
  fake = null;
});

describe("OpenAI adapter: say and requestReply", () => {
  it("say sends response.create whose instructions ask for the text word for word", async () => {
    const { server, session, seen } = await connected("openai");
    session.say(LINE);
    expect(await server.waitForClientEvent("response.create")).toEqual({ type: "response.create", response: { instructions: VERBATIM } });
    await until(() => only(seen, "responseDone").length === 1, "the reply");
    expect(only(seen, "transcript").filter((t) => t.final).map((t) => t.text)).toEqual([LINE]);
  });

  it("requestReply keeps the agent's prompt in front of the one-off instructions (they replace the session's for that reply)", async () => {
    const config = testSessionConfig({ voice: "marin", instructions: "You are Patchbay's receptionist." });
    const { server, session } = await connected("openai", config);
    session.requestReply("Leave a short message.");
    expect(await server.waitForClientEvent("response.create")).toEqual({
      type: "response.create",
      response: { instructions: "You are Patchbay's receptionist.\n\nFor this reply only: Leave a short message." },
    });
  });

  it("requestReply(null) sends a bare response.create", async () => {
    const { server, session } = await connected("openai");
    session.requestReply(null);
    expect(await server.waitForClientEvent("response.create")).toEqual({ type: "response.create" });
  });

  it("say during an open reply waits for its response.done instead of being refused", async () => {
    fake = await FakeOpenAIRealtimeServer.start({ dialect: "openai", replies: [toneReply("A long greeting.", 1_500)] });
    const { handlers, seen } = recordingHandlers();
    session = await new OpenAIRealtimeProvider({ apiKey: FAKE_OPENAI_API_KEY, baseURL: fake.url, model: "gpt-realtime" }).connect(
      testSessionConfig({ voice: "marin" }),
      handlers,
      new AbortController().signal,
    );
    session.startGreeting();
    await until(() => only(seen, "audio").length > 0, "the greeting's audio");
    session.say(LINE);
    await sleep(100);
    expect(fake.received.filter((e) => e.type === "response.create")).toHaveLength(1);
    await until(() => only(seen, "transcript").some((t) => t.final && t.text === LINE), "the line", 5_000);
    const creates = fake.received.filter((e) => e.type === "response.create");
    expect(creates[1]).toEqual({ type: "response.create", response: { instructions: VERBATIM } });
    expect(only(seen, "error")).toEqual([]);
  });
});

describe("xAI adapter: say and requestReply", () => {
  it("say adds the verbatim request as a user text item, then a bare response.create", async () => {
    const { server, session, seen } = await connected("xai");
    const before = server.received.length;
    session.say(LINE);
    await server.waitForClientEvent("response.create");
    expect(server.received.slice(before)).toEqual([
      { type: "conversation.item.create", item: { type: "message", role: "user", content: [{ type: "input_text", text: VERBATIM }] } },
      { type: "response.create" },
    ]);
    await until(() => only(seen, "responseDone").length === 1, "the reply");
    expect(only(seen, "transcript").filter((t) => t.final).map((t) => t.text)).toEqual([LINE]);
  });

  it("requestReply sends its instructions as the user item, and null as a bare response.create", async () => {
    const { server, session, seen } = await connected("xai");
    session.requestReply("Leave a short message.");
    await until(() => only(seen, "responseDone").length === 1, "the first reply");
    session.requestReply(null);
    await server.waitForClientEvent("response.create", 2);
    expect(server.replyRequests).toEqual(["Leave a short message.", null]);
  });
});

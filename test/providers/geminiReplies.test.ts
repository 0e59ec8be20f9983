/** `say` and `requestReply` on the Gemini Live wire: a complete user turn (`turnComplete: true`). */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { initResamplers } from "../../media/resample/index.js";
import { GeminiLiveProvider } from "../../providers/gemini/index.js";
import type { RealtimeSession } from "../../providers/types.js";
import { FAKE_GEMINI_API_KEY, FakeGeminiLiveServer, type FakeGeminiLiveOptions } from "../fakes/geminiLiveServer.js";
import { toneReply } from "../fakes/openaiRealtimeServer.js";
import { only, recordingHandlers, until } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const LINE = "We've reached our time limit, goodbye.";
const VERBATIM = `Say exactly this, word for word, and nothing else: "${LINE}"`;

let fake: FakeGeminiLiveServer | null = null;
let session: RealtimeSession | null = null;

async function connected(options: FakeGeminiLiveOptions = {}) {
  fake = await FakeGeminiLiveServer.start({ audioPacing: "burst", ...options });
  const { handlers, seen } = recordingHandlers();
  const provider = new GeminiLiveProvider({ apiKey: FAKE_GEMINI_API_KEY, baseUrl: fake.url });
  session = await provider.connect(testSessionConfig({ voice: "Kore", aiSpeaksFirst: false }), handlers, new AbortController().signal);
  return { server: fake, session, seen };
}

function clientContents(server: FakeGeminiLiveServer): unknown[] {
  return server.received.flatMap((m) => (m.clientContent === undefined ? [] : [m.clientContent]));
}

beforeAll(async () => {
  await initResamplers();
});

afterEach(async () => {
  session?.close();
  session = null;
  await fake?.close();
  fake = null;
});

describe("Gemini Live adapter: say and requestReply", () => {
  it("say sends the verbatim request as a complete user turn; the reply's transcript is the line", async () => {
    const { server, session, seen } = await connected();
    session.say(LINE);
    await until(() => only(seen, "responseDone").length === 1, "the reply");
    expect(clientContents(server)).toEqual([{ turns: [{ role: "user", parts: [{ text: VERBATIM }] }], turnComplete: true }]);
    expect(only(seen, "transcript").filter((t) => t.role === "agent" && t.final).map((t) => t.text)).toEqual([LINE]);
  });

  it("requestReply sends its instructions as the turn, and null as a bare turnComplete", async () => {
    const { server, session, seen } = await connected();
    session.requestReply("Leave a short message.");
    await until(() => only(seen, "responseDone").length === 1, "the first reply");
    session.requestReply(null);
    await until(() => only(seen, "responseDone").length === 2, "the second reply");
    expect(clientContents(server)).toEqual([
      { turns: [{ role: "user", parts: [{ text: "Leave a short message." }] }], turnComplete: true },
      { turnComplete: true },
    ]);
  });

  it("say while the model is speaking waits for its turn to end instead of cutting it off", async () => {
    const { server, session, seen } = await connected({ audioPacing: "realtime", replies: [toneReply("A long opening line.", 1_200)] });
    session.requestReply(null);
    await until(() => only(seen, "audio").length > 0, "the first reply's audio");
    session.say(LINE);
    expect(clientContents(server)).toHaveLength(1);
    await until(() => only(seen, "transcript").some((t) => t.final && t.text === LINE), "the line", 5_000);
    expect(only(seen, "responseDone").map((d) => d.status)).toEqual(["completed", "completed"]);
    expect(only(seen, "speechStarted")).toEqual([]);
  });
});

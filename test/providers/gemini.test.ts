import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MULAW_8K } from "../../media/audioFormat.js";
import { initResamplers } from "../../media/resample/index.js";
import { createTranscoder } from "../../media/transcoder.js";
import {
  GEMINI_CAPABILITIES,
  GEMINI_INPUT_FORMAT,
  GEMINI_OUTPUT_FORMAT,
  GeminiLiveProvider,
  type GeminiLiveOptions,
} from "../../providers/gemini/index.js";
import type { ProviderSessionConfig, RealtimeSession, TranscriptRole } from "../../providers/types.js";
import { bestCorrelation } from "../conformance/audioMatch.js";
import { fixtureAudio } from "../e2e/harness.js";
import { toneReply } from "../fakes/openaiRealtimeServer.js";
import { FAKE_GEMINI_API_KEY, FakeGeminiLiveServer, LIVE_PATH, type FakeGeminiLiveOptions } from "../fakes/geminiLiveServer.js";
import { frames, only, recordingHandlers, sleep, until, type Seen } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const TOOL = {
  name: "lookup_order",
  description: "Find an order by id",
  parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
};
const CONFIG: ProviderSessionConfig = testSessionConfig({ voice: "Kore", tools: [TOOL] });

function finals(seen: Seen[], role: TranscriptRole): string[] {
  return only(seen, "transcript").filter((t) => t.role === role && t.final).map((t) => t.text);
}

/** Caller audio as CallSession sends it: 20 ms μ-law frames through the μ-law → PCM16 16 kHz transcoder. */
function callerFrames(mulaw: Buffer): string[] {
  const toGemini = createTranscoder(MULAW_8K, GEMINI_INPUT_FORMAT);
  const out = frames(mulaw).map((frame) => toGemini.convert(frame));
  toGemini.close();
  return out;
}

/** A loud 300 Hz burst between quiet stretches: one caller utterance for the fake's VAD. */
function utterance(speechMs = 400, trailingQuietMs = 700): string[] {
  const quiet = Buffer.alloc(8 * 100, 0xff);
  return callerFrames(Buffer.concat([quiet, toneReply("", speechMs, 300).audio, Buffer.alloc(8 * trailingQuietMs, 0xff)]));
}

/** Agent audio as CallSession plays it: PCM16 24 kHz → μ-law 8 kHz, chunk by chunk. */
function heardByCaller(seen: Seen[], itemId: string): Buffer {
  const toTwilio = createTranscoder(GEMINI_OUTPUT_FORMAT, MULAW_8K);
  const chunks = only(seen, "audio")
    .filter((a) => a.itemId === itemId)
    .map((a) => Buffer.from(toTwilio.convert(a.payload), "base64"));
  toTwilio.close();
  return Buffer.concat(chunks);
}

let fake: FakeGeminiLiveServer | null = null;
let session: RealtimeSession | null = null;

function provider(server: FakeGeminiLiveServer, overrides: Partial<GeminiLiveOptions> = {}): GeminiLiveProvider {
  return new GeminiLiveProvider({ apiKey: FAKE_GEMINI_API_KEY, baseUrl: server.url, ...overrides });
}

async function connected(options: FakeGeminiLiveOptions = {}, config: ProviderSessionConfig = CONFIG, model?: string) {
  fake = await FakeGeminiLiveServer.start(options);
  const { handlers, seen } = recordingHandlers();
  session = await provider(fake, model === undefined ? {} : { model }).connect(config, handlers, new AbortController().signal);
  return { server: fake, session, seen };
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

describe("Gemini Live adapter against the fake Live server (real @google/genai client)", () => {
  it("connects at the SDK's path with ?key= and sends a setup built from the agent's Gemini fields", async () => {
    const config = testSessionConfig({
      voice: "Kore",
      tools: [TOOL],
      agent: {
        gemini_language_code: "en-US",
        gemini_top_k: 40,
        gemini_top_p: 0.9,
        gemini_thinking_level: "low",
        gemini_start_sensitivity: "high",
        gemini_end_sensitivity: "low",
        gemini_affective_dialog: true,
        gemini_proactive_audio: true,
      },
    });
    const { server, session } = await connected({}, config, "gemini-3.1-flash-live-preview");

    expect(server.handshakes[0]).toEqual({ path: `/${LIVE_PATH}?key=${FAKE_GEMINI_API_KEY}`, key: FAKE_GEMINI_API_KEY });
    expect(server.setups[0]).toEqual({
      model: "models/gemini-3.1-flash-live-preview",
      generationConfig: {
        responseModalities: ["AUDIO"],
        temperature: 0.8,
        topK: 40,
        topP: 0.9,
        speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: "Kore" } }, languageCode: "en-US" },
        thinkingConfig: { thinkingLevel: "LOW" },
      },
      systemInstruction: { role: "user", parts: [{ text: CONFIG.instructions }] },
      tools: [{ functionDeclarations: [{ name: TOOL.name, description: TOOL.description, parametersJsonSchema: TOOL.parameters }] }],
      realtimeInputConfig: {
        automaticActivityDetection: {
          startOfSpeechSensitivity: "START_SENSITIVITY_HIGH",
          endOfSpeechSensitivity: "END_SENSITIVITY_LOW",
          prefixPaddingMs: 250,
          silenceDurationMs: 600,
        },
      },
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      sessionResumption: {},
      contextWindowCompression: { slidingWindow: {} },
    });
    expect(session.capabilities).toEqual(GEMINI_CAPABILITIES);
    expect(session.inputFormat).toEqual({ encoding: "pcm16", rate: 16_000 });
    expect(session.outputFormat).toEqual({ encoding: "pcm16", rate: 24_000 });
  });

  it("defaults to the stable gemini-3.8-live, which takes no thinking level and rejects the 2.5 preview switches", async () => {
    const config = testSessionConfig({ voice: "Kore", agent: { gemini_thinking_level: "high", gemini_affective_dialog: true, gemini_proactive_audio: true } });
    const { server } = await connected({}, config);
    const setup = server.setups[0]!;
    expect(setup.model).toBe("models/gemini-3.8-live");
    expect(setup.generationConfig?.thinkingConfig).toBeUndefined();
    expect(setup.generationConfig).not.toHaveProperty("enableAffectiveDialog");
    expect(setup.proactivity).toBeUndefined();
  });

  it("turns thinking off with budget 0 and sends the 2.5-only preview features on a 2.5 native-audio model", async () => {
    const config = testSessionConfig({ voice: "Puck", agent: { gemini_affective_dialog: true, gemini_proactive_audio: true } });
    const { server } = await connected({}, config, "gemini-2.5-flash-native-audio-preview-12-2025");
    const setup = server.setups[0]!;
    expect(setup.model).toBe("models/gemini-2.5-flash-native-audio-preview-12-2025");
    expect(setup.generationConfig).toMatchObject({ thinkingConfig: { thinkingBudget: 0 }, enableAffectiveDialog: true });
    expect(setup.proactivity).toEqual({ proactiveAudio: true });
  });

  it("delivers the caller's audio as PCM16 16 kHz with the fixture's content intact", async () => {
    const { server, session } = await connected();
    const caller = fixtureAudio("caller-question.wav");
    const frames = callerFrames(caller);
    for (const payload of frames) session.appendAudio(payload);

    const expectedBytes = frames.reduce((n, f) => n + Buffer.from(f, "base64").length, 0);
    const received = await server.waitForInputAudio(expectedBytes);
    expect(server.received.filter((m) => m.realtimeInput?.audio?.mimeType === "audio/pcm;rate=16000")).toHaveLength(frames.length);
    const back = createTranscoder(GEMINI_INPUT_FORMAT, MULAW_8K);
    const mulawBack = Buffer.from(back.convert(received.toString("base64")), "base64");
    back.close();
    expect(bestCorrelation(caller, mulawBack)).toBeGreaterThanOrEqual(0.95);
  });

  it("speaks the greeting: a client turn with the text, 24 kHz audio of the reply's length, the agent's transcript", async () => {
    const reply = toneReply("Thanks for calling Patchbay.", 900);
    const { server, session, seen } = await connected({ replies: [reply], audioPacing: "burst" });
    session.startGreeting();

    const turn = await server.waitForMessage("clientContent");
    expect(turn.turnComplete).toBe(true);
    expect(JSON.stringify(turn.turns)).toContain(`\\"Thanks for calling Patchbay.\\"`);
    await until(() => only(seen, "responseDone").length === 1, "the greeting's turnComplete");

    expect(new Set(only(seen, "audio").map((a) => a.itemId))).toEqual(new Set(["turn-1"]));
    // 24 kHz PCM in, 8 kHz μ-law out: the caller hears the reply's full length (within the filter's delay).
    expect(Math.abs(heardByCaller(seen, "turn-1").length - reply.audio.length)).toBeLessThanOrEqual(80);
    expect(finals(seen, "agent")).toEqual([reply.text]);
    expect(only(seen, "responseDone")).toEqual([{ kind: "responseDone", itemId: "turn-1", status: "completed" }]);
    expect(only(seen, "error")).toEqual([]);
  });

  it("asks the model to open the call when there is no greeting text", async () => {
    const { server, session } = await connected({ audioPacing: "burst" }, { ...CONFIG, greeting: null });
    session.startGreeting();
    const turn = await server.waitForMessage("clientContent");
    expect(JSON.stringify(turn.turns)).toContain("Greet the caller");
  });

  it("adds context as a user turn with turnComplete false, which the model does not answer", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    session.addContext("The caller entered 1234 on the keypad.");

    const content = await server.waitForMessage("clientContent");
    expect(content).toEqual({ turns: [{ role: "user", parts: [{ text: "The caller entered 1234 on the keypad." }] }], turnComplete: false });
    await sleep(200);
    expect(only(seen, "responseDone")).toEqual([]);
    expect(only(seen, "audio")).toEqual([]);
  });

  it("holds context given while a dropped connection is being resumed, and sends it on the new one", async () => {
    fake = await FakeGeminiLiveServer.start({ audioPacing: "burst" });
    const server = fake;
    let live: RealtimeSession | null = null;
    // Told to the session from inside the drop's report: the old socket is gone and the new one not yet up.
    const { handlers, seen } = recordingHandlers({
      onError: (error) => {
        if (error.recoverable) live?.addContext("The caller pressed 9 on the keypad.");
      },
    });
    session = live = await provider(server).connect(CONFIG, handlers, new AbortController().signal);
    await until(() => server.handlesIssued.length === 1, "the first handle");
    server.dropConnection();
    await until(() => only(seen, "resumed").length === 1, "the resume");

    const content = await server.waitForMessage("clientContent");
    expect(content).toEqual({ turns: [{ role: "user", parts: [{ text: "The caller pressed 9 on the keypad." }] }], turnComplete: false });
    expect(server.connectionsOpened).toBe(2);
  });

  it("on interrupted: reports the barge-in, drops the rest of that turn, and answers the caller in a new turn", async () => {
    const { session, seen } = await connected({
      replies: [toneReply("A long greeting that the caller talks over.", 3_000), toneReply("Sure, tomorrow works.", 400)],
      callerTexts: ["Can I book for tomorrow?"],
      chunkMs: 40,
    });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 5, "greeting audio");
    for (const payload of utterance()) {
      session.appendAudio(payload);
      await sleep(2);
    }
    await until(() => only(seen, "responseDone").length === 2, "the reply after the barge-in", 8_000);

    const speechAt = seen.findIndex((s) => s.kind === "speechStarted");
    expect(speechAt).toBeGreaterThan(0);
    expect(seen.slice(speechAt).some((s) => s.kind === "audio" && s.itemId === "turn-1")).toBe(false);
    expect(only(seen, "responseDone")).toEqual([
      { kind: "responseDone", itemId: "turn-1", status: "cancelled" },
      { kind: "responseDone", itemId: "turn-2", status: "completed" },
    ]);
    // Both roles' finals, in conversation order: the cut greeting, the caller, the answer.
    const lines = only(seen, "transcript").filter((t) => t.final).map((t) => `${t.role}: ${t.text}`);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^agent: A\b/);
    expect(lines.slice(1)).toEqual(["caller: Can I book for tomorrow?", "agent: Sure, tomorrow works."]);
  });

  it("keeps talking after an interruption even when the service never sends that turn's turnComplete", async () => {
    const { session, seen } = await connected({
      replies: [toneReply("A long greeting that the caller talks over.", 3_000), toneReply("Sure, tomorrow works.", 400)],
      callerTexts: ["Can I book for tomorrow?"],
      chunkMs: 40,
      omitTurnCompleteOnInterrupt: true,
    });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 5, "greeting audio");
    for (const payload of utterance()) {
      session.appendAudio(payload);
      await sleep(2);
    }
    await until(() => only(seen, "responseDone").length === 2, "the reply after the barge-in", 8_000);
    expect(only(seen, "responseDone").map((r) => r.status)).toEqual(["cancelled", "completed"]);
    expect(only(seen, "audio").some((a) => a.itemId === "turn-2")).toBe(true);
  });

  it("reports the caller speaking after the model finished generating, while its audio may still be playing", async () => {
    const { session, seen } = await connected({
      replies: [toneReply("Hello.", 300), toneReply("Sure, tomorrow works.", 400)],
      callerTexts: ["Can I book for tomorrow?"],
      audioPacing: "burst",
    });
    session.startGreeting();
    await until(() => only(seen, "responseDone").length === 1, "the greeting generated");
    for (const payload of utterance()) {
      session.appendAudio(payload);
      await sleep(2);
    }
    await until(() => only(seen, "responseDone").length === 2, "the reply", 8_000);
    // No `interrupted` (nothing was generating): the caller's first transcribed words raise it, once.
    const firstReplyAudio = seen.findIndex((s) => s.kind === "audio" && s.itemId === "turn-2");
    const speech = seen.map((s, i) => (s.kind === "speechStarted" ? i : -1)).filter((i) => i >= 0);
    expect(speech).toHaveLength(1);
    expect(speech[0]).toBeLessThan(firstReplyAudio);
  });

  it("interrupt() drops the rest of the current turn's audio; the next turn plays", async () => {
    const { server, session, seen } = await connected({
      replies: [toneReply("First reply, long enough to cut.", 2_000), toneReply("Second.", 300)],
      chunkMs: 40,
    });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 3, "greeting audio");
    session.interrupt("turn-1", 100);
    const cutAt = seen.length;
    await until(() => only(seen, "responseDone").length === 1, "the cut turn's end", 5_000);
    expect(seen.slice(cutAt).some((s) => s.kind === "audio")).toBe(false);
    expect(only(seen, "responseDone")[0]).toEqual({ kind: "responseDone", itemId: "turn-1", status: "cancelled" });

    session.startGreeting();
    await server.waitForMessage("clientContent", 2);
    await until(() => only(seen, "responseDone").length === 2, "the next turn");
    expect(only(seen, "audio").filter((a) => a.itemId === "turn-2").length).toBeGreaterThan(0);
  });

  it("round-trips a tool call by id, naming the function and sending an object response", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    const callId = server.requestToolCall(TOOL.name, { order_id: "A-17" });
    await until(() => only(seen, "toolCall").length === 1, "the tool call");
    expect(only(seen, "toolCall")[0]).toEqual({ kind: "toolCall", callId, name: TOOL.name, args: '{"order_id":"A-17"}' });

    session.sendToolResult(callId, '{"status":"shipped"}');
    expect(await server.waitForToolResponse(callId)).toEqual({ id: callId, name: TOOL.name, response: { status: "shipped" } });

    const second = server.requestToolCall(TOOL.name, { order_id: "B-2" });
    await until(() => only(seen, "toolCall").length === 2, "the second tool call");
    session.sendToolResult(second, "not json");
    expect((await server.waitForToolResponse(second)).response).toEqual({ result: "not json" });
  });

  it("on goAway, resumes on a new connection with the newest handle, reports onResumed, and audio goes on", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst", callerTexts: ["Still there?"] });
    session.startGreeting();
    await until(() => only(seen, "responseDone").length === 1, "the greeting");
    await until(() => server.handlesIssued.length === 2, "the handle issued after the greeting");
    const newest = server.handlesIssued.at(-1);

    server.sendGoAway(2_000);
    await until(() => only(seen, "resumed").length === 1, "the resume");
    expect(server.setups[1]?.sessionResumption).toEqual({ handle: newest });
    await until(() => server.connectionCount === 1, "the old connection to close");
    expect(server.connectionsOpened).toBe(2);
    expect(only(seen, "error")).toEqual([]);

    for (const payload of utterance()) session.appendAudio(payload);
    await until(() => only(seen, "responseDone").length === 2, "the reply on the new connection");
    expect(only(seen, "audio").filter((a) => a.itemId === "turn-2").length).toBeGreaterThan(0);
    expect(finals(seen, "caller")).toEqual(["Still there?"]);
    expect(only(seen, "closed")).toEqual([]);
  });

  it("resumes after the socket drops once a handle was issued, keeping the caller's audio flowing", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    await until(() => server.handlesIssued.length === 1, "the first handle");
    server.dropConnection();
    await until(() => only(seen, "resumed").length === 1, "the resume");
    expect(server.setups[1]?.sessionResumption).toEqual({ handle: server.handlesIssued[0] });
    expect(only(seen, "error").map((e) => e.error.recoverable)).toEqual([true]);

    const before = server.inputAudio().length;
    for (const payload of callerFrames(Buffer.alloc(1_600, 0xff))) session.appendAudio(payload);
    await server.waitForInputAudio(before + 6_400);
    expect(only(seen, "closed")).toEqual([]);
  });

  it("ends with onError then onClosed(clean: false) when the socket drops before any handle", async () => {
    const { server, seen } = await connected({ handleOnSetup: false });
    server.dropConnection();
    await until(() => only(seen, "closed").length === 1, "the close");
    expect(seen.map((s) => s.kind)).toEqual(["error", "closed"]);
    const error = only(seen, "error")[0]!.error;
    expect(error.code).toBe("provider_socket_closed");
    expect(error.recoverable).toBe(false);
    expect(only(seen, "closed")[0]!.info.clean).toBe(false);
    expect(server.connectionsOpened).toBe(1);
  });

  it("reports the service's error close with its reason and resumes", async () => {
    const { server, seen } = await connected();
    await until(() => server.handlesIssued.length === 1, "the first handle");
    server.closeWithError("Internal error encountered.");
    await until(() => only(seen, "resumed").length === 1, "the resume");
    expect(only(seen, "error")[0]?.error.message).toContain("1011: Internal error encountered.");
  });

  it("times out when the service never completes setup", async () => {
    fake = await FakeGeminiLiveServer.start({ withholdSetupComplete: true });
    const { handlers, seen } = recordingHandlers();
    const started = performance.now();
    const attempt = provider(fake, { connectTimeoutMs: 300 }).connect(CONFIG, handlers, new AbortController().signal);
    await expect(attempt).rejects.toMatchObject({ name: "ProviderError", code: "provider_connect_timeout" });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(fake.setups).toHaveLength(1);
    expect(seen).toEqual([]);
    // The socket the SDK never handed over is closed, not left to the service.
    await until(() => fake!.connectionCount === 0, "the abandoned socket to close");
  });

  it("fails fast with provider_auth_failed on a wrong key", async () => {
    fake = await FakeGeminiLiveServer.start();
    const { handlers } = recordingHandlers();
    const attempt = provider(fake, { apiKey: "wrong-key" }).connect(CONFIG, handlers, new AbortController().signal);
    await expect(attempt).rejects.toMatchObject({ code: "provider_auth_failed", recoverable: false });
  });

  it("honours an abort while connecting", async () => {
    fake = await FakeGeminiLiveServer.start({ withholdSetupComplete: true });
    const { handlers } = recordingHandlers();
    const abort = new AbortController();
    const attempt = provider(fake).connect(CONFIG, handlers, abort.signal);
    setTimeout(() => abort.abort(new Error("caller hung up")), 50);
    await expect(attempt).rejects.toMatchObject({ code: "provider_connect_failed" });
  });

  it("close() ends with onClosed(clean: true) exactly once", async () => {
    const { server, session, seen } = await connected();
    session.close();
    session.close();
    await until(() => only(seen, "closed").length === 1, "the close");
    await sleep(100);
    expect(only(seen, "closed")).toHaveLength(1);
    expect(only(seen, "closed")[0]!.info.clean).toBe(true);
    await until(() => server.connectionCount === 0, "the server to see the close");
  });
});

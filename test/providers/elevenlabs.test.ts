import { performance } from "node:perf_hooks";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MULAW_8K } from "../../media/audioFormat.js";
import { initResamplers } from "../../media/resample/index.js";
import { createTranscoder } from "../../media/transcoder.js";
import { AgentLines } from "../../providers/elevenlabs/agentLines.js";
import { AgentTurns } from "../../providers/elevenlabs/agentTurns.js";
import { audioFormatOf } from "../../providers/elevenlabs/formats.js";
import { ELEVENLABS_CAPABILITIES, ElevenLabsAgentsProvider, type ElevenLabsAgentsOptions } from "../../providers/elevenlabs/index.js";
import { toolResultEvent, userAudioFrame } from "../../providers/elevenlabs/wire.js";
import { ProviderError, type ProviderSessionConfig, type RealtimeSession } from "../../providers/types.js";
import { bestCorrelation } from "../conformance/audioMatch.js";
import {
  FAKE_ELEVENLABS_API_KEY,
  FakeElevenLabsServer,
  toneReply,
  type FakeElevenLabsOptions,
} from "../fakes/elevenlabsServer.js";
import { decodedAudio, frames, only, quietMulaw, recordingHandlers, sleep, until } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const CONFIG: ProviderSessionConfig = testSessionConfig({
  instructions: "You are Patchbay's test receptionist for {{agent_name}}.",
  greeting: "Thanks for calling Patchbay.",
  agent: {
    elevenlabs_agent_id: "agent_fake0000patchbay",
    elevenlabs_voice_id: "21m00Tcm4TlvDq8ikWAM",
    elevenlabs_model_id: "gemini-2.0-flash",
    elevenlabs_speed: 1.1,
    elevenlabs_stability: 0.4,
    elevenlabs_language: "pt-BR",
  },
});

/** The caller talks: quiet lead-in, a loud stretch, then enough quiet for the fake's VAD to end the turn. */
function callerUtterance(speechMs = 400): Buffer {
  return Buffer.concat([quietMulaw(8 * 200), toneReply("", speechMs, 300).audio, quietMulaw(8 * 700)]);
}

let fake: FakeElevenLabsServer | null = null;
let session: RealtimeSession | null = null;

async function startFake(options: FakeElevenLabsOptions = {}): Promise<FakeElevenLabsServer> {
  fake = await FakeElevenLabsServer.start(options);
  return fake;
}

function provider(server: FakeElevenLabsServer, overrides: Partial<ElevenLabsAgentsOptions> = {}): ElevenLabsAgentsProvider {
  return new ElevenLabsAgentsProvider({ apiKey: FAKE_ELEVENLABS_API_KEY, baseUrl: server.url, ...overrides });
}

async function connected(options: FakeElevenLabsOptions = {}, config: ProviderSessionConfig = CONFIG) {
  const server = await startFake(options);
  const { handlers, seen } = recordingHandlers();
  session = await provider(server).connect(config, handlers, new AbortController().signal);
  return { server, session, seen };
}

async function connectError(promise: Promise<unknown>): Promise<ProviderError> {
  const error: unknown = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
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

describe("ElevenLabs Agents adapter: connecting", () => {
  it("gets a signed URL with xi-api-key, opens it, sends the initiation first and declares μ-law passthrough", async () => {
    const { server, session } = await connected({ audioPacing: "burst" });

    expect(server.signedUrlRequests).toEqual([{ agentId: "agent_fake0000patchbay", apiKey: FAKE_ELEVENLABS_API_KEY }]);
    expect(server.upgrades[0]).toMatch(/^\/v1\/convai\/conversation\?agent_id=agent_fake0000patchbay&conversation_signature=[0-9a-f]+$/);
    expect(server.received[0]?.type).toBe("conversation_initiation_client_data");
    expect(session.capabilities).toEqual(ELEVENLABS_CAPABILITIES);
    expect(session.capabilities).toEqual({ canTruncate: false, hasServerVad: true, needsLocalTurns: false, transcribesCaller: true });
    expect(session.inputFormat).toEqual(MULAW_8K);
    expect(session.outputFormat).toEqual(MULAW_8K);
  });

  it("sends the overrides the conversation may carry, and the call facts as dynamic variables", async () => {
    const { server } = await connected({ audioPacing: "burst" });
    expect(server.initiations).toEqual([
      {
        type: "conversation_initiation_client_data",
        conversation_config_override: {
          agent: {
            prompt: { prompt: CONFIG.instructions, llm: "gemini-2.0-flash" },
            first_message: "Thanks for calling Patchbay.",
            language: "pt-br",
          },
          tts: { voice_id: "21m00Tcm4TlvDq8ikWAM", speed: 1.1, stability: 0.4 },
        },
        dynamic_variables: CONFIG.variables,
      },
    ]);
  });

  it("asks the agent to wait for the caller (empty first_message) when the AI does not speak first", async () => {
    const { server, seen } = await connected({ audioPacing: "burst" }, { ...CONFIG, aiSpeaksFirst: false });
    expect(server.initiations[0]?.conversation_config_override?.agent?.first_message).toBe("");
    await sleep(100);
    expect(only(seen, "audio")).toEqual([]);
    expect(only(seen, "transcript")).toEqual([]);
  });

  it("leaves the agent's own first message, voice, LLM and language alone when the agent didn't set them", async () => {
    const config = testSessionConfig({ greeting: null, agent: { elevenlabs_agent_id: "agent_fake0000patchbay" } });
    const { server } = await connected({ audioPacing: "burst" }, config);
    const override = server.initiations[0]?.conversation_config_override;
    // Defaults are not overrides: sending them would need the ElevenLabs agent to allow each one.
    expect(override?.agent).toEqual({ prompt: { prompt: config.instructions } });
    expect(override?.tts).toBeUndefined();
  });

  it("rejects a wrong API key as provider_auth_failed without opening a socket", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const error = await connectError(provider(server, { apiKey: "xi-wrong" }).connect(CONFIG, handlers, new AbortController().signal));
    expect(error.code).toBe("provider_auth_failed");
    expect(error.message).toContain("401");
    expect(server.upgrades).toEqual([]);
  });

  it("fails clearly, before any network work, when the agent has no elevenlabs_agent_id", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const config = testSessionConfig({ agent: { elevenlabs_agent_id: null } });
    const error = await connectError(provider(server).connect(config, handlers, new AbortController().signal));
    expect(error.code).toBe("provider_connect_failed");
    expect(error.message).toContain("elevenlabs_agent_id");
    expect(server.signedUrlRequests).toEqual([]);
  });

  it("names elevenlabs_agent_id when ElevenLabs does not know the agent", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const config = testSessionConfig({ agent: { elevenlabs_agent_id: "agent_missing" } });
    const error = await connectError(provider(server).connect(config, handlers, new AbortController().signal));
    expect(error.code).toBe("provider_connect_failed");
    expect(error.message).toContain("elevenlabs_agent_id");
  });

  it("refuses a language ElevenLabs would reject before connecting", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const config = testSessionConfig({ agent: { elevenlabs_agent_id: "agent_fake0000patchbay", elevenlabs_language: "klingon" } });
    const error = await connectError(provider(server).connect(config, handlers, new AbortController().signal));
    expect(error.message).toContain("elevenlabs_language");
    expect(server.signedUrlRequests).toEqual([]);
  });

  it("times out when the conversation metadata never comes, and closes the socket it opened", async () => {
    const server = await startFake({ sendMetadata: false });
    const { handlers, seen } = recordingHandlers();
    const started = performance.now();
    const error = await connectError(provider(server, { connectTimeoutMs: 300 }).connect(CONFIG, handlers, new AbortController().signal));
    expect(error.code).toBe("provider_connect_timeout");
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(server.initiations).toHaveLength(1);
    await until(() => server.connectionCount === 0, "the fake to see the socket close");
    expect(seen).toEqual([]);
  });

  it("stops connecting when the caller aborts", async () => {
    const server = await startFake({ sendMetadata: false });
    const { handlers } = recordingHandlers();
    const abort = new AbortController();
    const pending = provider(server).connect(CONFIG, handlers, abort.signal);
    await until(() => server.initiations.length === 1, "the initiation");
    abort.abort(new Error("call hung up"));
    const error = await connectError(pending);
    expect(error.code).toBe("provider_connect_failed");
    expect(error.message).toContain("aborted");
    await until(() => server.connectionCount === 0, "the fake to see the socket close");
  });
});

describe("ElevenLabs Agents adapter: audio", () => {
  it("frames caller audio as user_audio_chunk around the payload untouched", () => {
    const payload = quietMulaw(160).toString("base64");
    expect(JSON.parse(userAudioFrame(payload))).toEqual({ user_audio_chunk: payload });
  });

  it("passes μ-law caller audio through byte for byte", async () => {
    const { server, session } = await connected({ audioPacing: "burst" });
    const fixture = quietMulaw(160 * 50);
    for (const payload of frames(fixture)) session.appendAudio(payload);
    await server.waitForInputAudio(fixture.length);
    expect(server.inputAudio().equals(fixture)).toBe(true);
  });

  it("holds the first message's audio until startGreeting, then delivers it as one turn", async () => {
    const reply = toneReply("Thanks for calling Patchbay.", 600);
    const { session, seen } = await connected({ replies: [reply], audioPacing: "burst" });
    await sleep(150);
    expect(seen).toEqual([]);

    session.startGreeting();
    // The agent's line follows its audio, so the call dates it to when the greeting started playing.
    expect(seen.findIndex((s) => s.kind === "transcript")).toBeGreaterThan(seen.findIndex((s) => s.kind === "audio"));
    const itemIds = new Set(only(seen, "audio").map((a) => a.itemId));
    expect([...itemIds]).toHaveLength(1);
    const itemId = [...itemIds][0] ?? "";
    expect(itemId).toMatch(/^turn-\d+$/);
    expect(decodedAudio(seen, itemId).equals(reply.audio)).toBe(true);
    expect(only(seen, "transcript")).toEqual([{ kind: "transcript", role: "agent", text: reply.text, final: true }]);
  });

  it("declares PCM16 16 kHz for a pcm_16000 agent, and its audio survives our transcoders both ways", async () => {
    const greeting = toneReply("Hello.", 400);
    const { server, session, seen } = await connected({ inputFormat: "pcm_16000", outputFormat: "pcm_16000", replies: [greeting], audioPacing: "burst" });
    expect(session.inputFormat).toEqual({ encoding: "pcm16", rate: 16000 });
    expect(session.outputFormat).toEqual({ encoding: "pcm16", rate: 16000 });

    session.startGreeting();
    await until(() => only(seen, "audio").length > 0, "greeting audio");
    const out = Buffer.concat(only(seen, "audio").map((a) => Buffer.from(a.payload, "base64")));
    expect(out.length).toBe(greeting.audio.length * 4);

    const toProvider = createTranscoder(MULAW_8K, session.inputFormat);
    const caller = toneReply("", 1_000, 440).audio;
    for (const payload of frames(caller)) session.appendAudio(toProvider.convert(payload));
    await server.waitForInputAudio(caller.length - 160);
    expect(bestCorrelation(caller, server.inputAudio())).toBeGreaterThan(0.9);
    toProvider.close();
  });
});

describe("ElevenLabs Agents adapter: turns and barge-in", () => {
  it("on interruption reports speech started, drops the interrupted reply, then transcribes the caller and starts a new turn", async () => {
    const { session, seen } = await connected({
      replies: [toneReply("This is a long greeting.", 3_000), toneReply("Sure, tomorrow works.", 400)],
      callerTexts: ["Can I come tomorrow?"],
      chunkMs: 40,
    });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 3, "some greeting audio");
    const greetingItem = only(seen, "audio")[0]?.itemId ?? "";
    for (const payload of frames(callerUtterance())) session.appendAudio(payload);

    await until(() => only(seen, "transcript").some((t) => t.role === "agent" && t.text === "Sure, tomorrow works."), "the reply");
    await until(() => only(seen, "audio").some((a) => a.itemId !== greetingItem), "the reply's audio");
    const started = seen.findIndex((s) => s.kind === "speechStarted");
    const cancelled = seen.findIndex((s) => s.kind === "responseDone" && s.itemId === greetingItem && s.status === "cancelled");
    const callerLine = seen.findIndex((s) => s.kind === "transcript" && s.role === "caller");
    const replyAudio = seen.findIndex((s) => s.kind === "audio" && s.itemId !== greetingItem);
    const lastGreetingAudio = seen.findLastIndex((s) => s.kind === "audio" && s.itemId === greetingItem);
    expect(started).toBeGreaterThan(-1);
    expect(cancelled).toBeGreaterThan(started);
    expect(lastGreetingAudio).toBeLessThan(started);
    expect(callerLine).toBeGreaterThan(started);
    expect(replyAudio).toBeGreaterThan(callerLine);
    expect(only(seen, "transcript").find((t) => t.role === "caller")).toEqual({ kind: "transcript", role: "caller", text: "Can I come tomorrow?", final: true });
    expect(decodedAudio(seen, greetingItem).length).toBeLessThan(8 * 3_000);
  });

  it("drops audio numbered before the interruption's event_id and keeps the reply that follows", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" }, { ...CONFIG, aiSpeaksFirst: false });
    const chunk = (eventId: number, byte: number) => ({
      type: "audio" as const,
      audio_event: { audio_base_64: Buffer.alloc(160, byte).toString("base64"), event_id: eventId },
    });
    server.send(chunk(5, 1));
    server.send({ type: "interruption", interruption_event: { event_id: 7 } });
    server.send(chunk(5, 2)); // late audio of the interrupted reply
    server.send(chunk(6, 3)); // numbered before the interruption
    server.send(chunk(7, 4)); // the official clients play audio carrying the interruption's own id
    server.send(chunk(8, 5));
    await until(() => only(seen, "audio").length >= 3, "the audio after the interruption");
    await sleep(30);

    expect(only(seen, "audio").map((a) => [a.itemId, Buffer.from(a.payload, "base64")[0]])).toEqual([
      ["turn-5", 1],
      ["turn-7", 4],
      ["turn-8", 5],
    ]);
    expect(only(seen, "speechStarted")).toHaveLength(1);
    expect(only(seen, "responseDone")).toEqual([
      { kind: "responseDone", itemId: "turn-5", status: "cancelled" },
      { kind: "responseDone", itemId: "turn-7", status: "completed" },
    ]);
    expect(session.capabilities.canTruncate).toBe(false);
  });

  it("interrupt() sends nothing and drops the rest of the current turn until the next one begins", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" }, { ...CONFIG, aiSpeaksFirst: false });
    const chunk = (eventId: number) => ({ type: "audio" as const, audio_event: { audio_base_64: quietMulaw(160).toString("base64"), event_id: eventId } });
    server.send(chunk(3));
    await until(() => only(seen, "audio").length === 1, "the first chunk");
    const before = server.received.length;
    session.interrupt("turn-3", 20);
    server.send(chunk(3));
    server.send(chunk(4));
    await until(() => only(seen, "audio").length === 2, "the next turn");
    expect(only(seen, "audio").map((a) => a.itemId)).toEqual(["turn-3", "turn-4"]);
    expect(server.received.length).toBe(before);
  });

  it("reports the corrected (truncated) agent line after an interruption", async () => {
    const { session, seen } = await connected({
      replies: [toneReply("One two three four five six seven eight nine ten.", 3_000), toneReply("Okay.", 300)],
      chunkMs: 40,
      sendCorrections: true,
    });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 5, "some greeting audio");
    for (const payload of frames(callerUtterance())) session.appendAudio(payload);
    await until(() => only(seen, "speechStarted").length === 1, "the interruption");
    await until(() => only(seen, "transcript").filter((t) => t.role === "agent").length >= 2, "the correction");
    const agentLines = only(seen, "transcript").filter((t) => t.role === "agent").map((t) => t.text);
    expect(agentLines[0]).toBe("One two three four five six seven eight nine ten.");
    expect(agentLines[1]?.startsWith("One")).toBe(true);
    expect(agentLines[1]?.length).toBeLessThan(agentLines[0]?.length ?? 0);
  });
});

describe("ElevenLabs Agents adapter: protocol", () => {
  it("answers a ping with a pong carrying its event_id", async () => {
    const { server } = await connected({ audioPacing: "burst", pingIntervalMs: 60_000 });
    server.send({ type: "ping", ping_event: { event_id: 4242, ping_ms: 35 } });
    expect(await server.waitForMessage("pong")).toEqual({ type: "pong", event_id: 4242 });
  });

  it("answers the fake's periodic pings", async () => {
    const { server } = await connected({ audioPacing: "burst", pingIntervalMs: 30 });
    const second = await server.waitForMessage("pong", 2);
    expect(second.event_id).toBeGreaterThan(0);
  });

  it("round-trips a client tool call by id, flagging outputs with an error key", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" }, { ...CONFIG, aiSpeaksFirst: false });
    const callId = server.requestToolCall("lookup_order", { order_id: "A1" });
    await until(() => only(seen, "toolCall").length === 1, "the tool call");
    expect(only(seen, "toolCall")[0]).toEqual({ kind: "toolCall", callId, name: "lookup_order", args: '{"order_id":"A1"}' });

    session.sendToolResult(callId, '{"status":"shipped"}');
    expect(await server.waitForToolResult(callId)).toEqual({ type: "client_tool_result", tool_call_id: callId, result: '{"status":"shipped"}', is_error: false });

    const failing = server.requestToolCall("lookup_order", { order_id: "B2" });
    await until(() => only(seen, "toolCall").length === 2, "the second tool call");
    session.sendToolResult(failing, '{"error":"unknown tool lookup_order"}');
    expect((await server.waitForToolResult(failing)).is_error).toBe(true);
  });

  it("adds context as contextual_update, which the agent does not answer", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" }, { ...CONFIG, aiSpeaksFirst: false });
    session.addContext("The caller entered 1234 on the keypad.");

    expect(await server.waitForMessage("contextual_update")).toEqual({ type: "contextual_update", text: "The caller entered 1234 on the keypad." });
    await sleep(200);
    expect(only(seen, "audio")).toEqual([]);
    expect(only(seen, "responseDone")).toEqual([]);
  });

  it("marks only JSON objects with an error key as failed tool results", () => {
    expect(toolResultEvent("t", "plain text").is_error).toBe(false);
    expect(toolResultEvent("t", '["error"]').is_error).toBe(false);
    expect(toolResultEvent("t", '{"error":null}').is_error).toBe(true);
  });

  it("reports both roles' transcripts as final lines", async () => {
    const { session, seen } = await connected({ replies: [toneReply("Hi there.", 300), toneReply("Noted.", 300)], callerTexts: ["My order is late."], audioPacing: "burst" });
    session.startGreeting();
    for (const payload of frames(callerUtterance())) session.appendAudio(payload);
    await until(() => only(seen, "transcript").length === 3, "three transcript lines");
    expect(only(seen, "transcript").map((t) => [t.role, t.text, t.final])).toEqual([
      ["agent", "Hi there.", true],
      ["caller", "My order is late.", true],
      ["agent", "Noted.", true],
    ]);
  });

  it("surfaces an error event as a recoverable provider_error_event and stays up", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    server.sendError("rate limit reached for this session");
    await until(() => only(seen, "error").length === 1, "the error");
    const error = only(seen, "error")[0]?.error;
    expect(error?.code).toBe("provider_error_event");
    expect(error?.recoverable).toBe(true);
    expect(error?.message).toContain("rate limit reached for this session");

    session.appendAudio(quietMulaw(160).toString("base64"));
    await server.waitForInputAudio(160);
    expect(only(seen, "closed")).toEqual([]);
  });

  it("reports a dropped socket as provider_socket_closed, then closed (not clean) once", async () => {
    const { server, seen } = await connected({ audioPacing: "burst" });
    server.dropConnection();
    await until(() => only(seen, "closed").length === 1, "closed");
    await sleep(30);
    const errors = only(seen, "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error.code).toBe("provider_socket_closed");
    expect(errors[0]?.error.recoverable).toBe(false);
    expect(only(seen, "closed")).toHaveLength(1);
    expect(only(seen, "closed")[0]?.info.clean).toBe(false);
    expect(seen.findIndex((s) => s.kind === "error")).toBeLessThan(seen.findIndex((s) => s.kind === "closed"));
  });

  it("close() ends cleanly, exactly once, with no error", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    session.close();
    session.close();
    await until(() => only(seen, "closed").length === 1, "closed");
    await until(() => server.connectionCount === 0, "the fake to see the close");
    expect(only(seen, "closed")[0]?.info).toMatchObject({ clean: true, code: 1000 });
    expect(only(seen, "error")).toEqual([]);
    session.appendAudio(quietMulaw(160).toString("base64"));
  });
});

describe("ElevenLabs wire pieces", () => {
  it("maps ElevenLabs audio format names to AudioFormat", () => {
    expect(audioFormatOf("ulaw_8000")).toEqual(MULAW_8K);
    expect(audioFormatOf("pcm_16000")).toEqual({ encoding: "pcm16", rate: 16000 });
    expect(audioFormatOf("pcm_44100")).toEqual({ encoding: "pcm16", rate: 44100 });
    expect(audioFormatOf("mp3_44100_128")).toBeNull();
    expect(audioFormatOf("alaw_8000")).toBeNull();
  });

  it("numbers turns by event_id and keeps a cut turn cut", () => {
    const ended: string[] = [];
    const turns = new AgentTurns((itemId, status) => ended.push(`${itemId}:${status}`));
    expect(turns.accept(1)).toBe("turn-1");
    expect(turns.accept(1)).toBe("turn-1");
    turns.cut();
    expect(turns.accept(1)).toBeNull();
    expect(turns.accept(2)).toBe("turn-2");
    turns.finish();
    turns.interrupted(10);
    expect(turns.accept(9)).toBeNull();
    expect(turns.accept(10)).toBe("turn-10");
    expect(ended).toEqual(["turn-1:cancelled", "turn-2:completed"]);
  });

  it("holds an agent line that arrives before its reply's audio until that audio is delivered", () => {
    const lines: string[] = [];
    const agentLines = new AgentLines((text) => lines.push(text));
    agentLines.audioDelivered(1);
    agentLines.add(1, "greeting");
    agentLines.add(3, "reply");
    expect(lines).toEqual(["greeting"]);
    agentLines.audioDelivered(3);
    expect(lines).toEqual(["greeting", "reply"]);
    agentLines.add(5, "cut before it spoke");
    agentLines.releaseWhere((eventId) => eventId <= 5);
    expect(lines.at(-1)).toBe("cut before it spoke");
  });
});

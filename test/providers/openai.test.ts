import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import type { InputAudioBufferAppendEvent } from "openai/resources/realtime/realtime";
import { MULAW_8K } from "../../media/audioFormat.js";
import { OpenAIRealtimeProvider, type OpenAIRealtimeOptions } from "../../providers/openai/index.js";
import { appendAudioFrame } from "../../providers/openai/wire.js";
import { ProviderError, type ProviderSessionConfig, type RealtimeSession, type RealtimeSessionHandlers } from "../../providers/types.js";
import {
  FAKE_OPENAI_API_KEY,
  FakeOpenAIRealtimeServer,
  toneReply,
  type FakeOpenAIRealtimeOptions,
} from "../fakes/openaiRealtimeServer.js";
import { decodedAudio, frames, only, quietMulaw, recordingHandlers, sleep, until } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const CONFIG: ProviderSessionConfig = testSessionConfig({
  voice: "marin",
  tools: [
    {
      name: "lookup_order",
      description: "Find an order by id",
      parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
    },
  ],
});

let fake: FakeOpenAIRealtimeServer | null = null;
let session: RealtimeSession | null = null;

async function startFake(options: FakeOpenAIRealtimeOptions = {}): Promise<FakeOpenAIRealtimeServer> {
  fake = await FakeOpenAIRealtimeServer.start(options);
  return fake;
}

function provider(server: FakeOpenAIRealtimeServer, overrides: Partial<OpenAIRealtimeOptions> = {}): OpenAIRealtimeProvider {
  return new OpenAIRealtimeProvider({ apiKey: FAKE_OPENAI_API_KEY, baseURL: server.url, model: "gpt-realtime", ...overrides });
}

async function connected(options: FakeOpenAIRealtimeOptions = {}) {
  const server = await startFake(options);
  const { handlers, seen } = recordingHandlers();
  session = await provider(server).connect(CONFIG, handlers, new AbortController().signal);
  return { server, session, seen };
}

afterEach(async () => {
  session?.close();
  session = null;
  await fake?.close();
  fake = null;
});

describe("OpenAI Realtime adapter against the fake GA server", () => {
  it("opens with Bearer auth, no beta header, and a GA session.update with μ-law both ways", async () => {
    const { server, session } = await connected();
    const update = await server.waitForClientEvent("session.update");

    expect(server.handshakes[0]?.path).toBe("/v1/realtime?model=gpt-realtime");
    expect(server.handshakes[0]?.headers.authorization).toBe(`Bearer ${FAKE_OPENAI_API_KEY}`);
    expect(server.handshakes[0]?.headers["openai-beta"]).toBeUndefined();
    expect(server.received[0]?.type).toBe("session.update");
    // The reference defaults: semantic VAD at low eagerness, far-field noise reduction.
    expect(update.session).toEqual({
      type: "realtime",
      instructions: CONFIG.instructions,
      output_modalities: ["audio"],
      audio: {
        input: {
          format: { type: "audio/pcmu" },
          noise_reduction: { type: "far_field" },
          transcription: { model: "gpt-4o-mini-transcribe" },
          turn_detection: { type: "semantic_vad", eagerness: "low", create_response: true, interrupt_response: true },
        },
        output: { format: { type: "audio/pcmu" }, voice: "marin" },
      },
      tools: [{ type: "function", ...CONFIG.tools[0] }],
    });
    expect(session.capabilities).toEqual({ canTruncate: true, hasServerVad: true, needsLocalTurns: false, transcribesCaller: true });
    expect(session.inputFormat).toEqual(MULAW_8K);
    expect(session.outputFormat).toEqual(MULAW_8K);
  });

  it("maps openai_vad_type server_vad to server VAD tuned by the agent's VAD fields", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const config = testSessionConfig({ voice: "cedar", agent: { openai_vad_type: "server_vad", openai_noise_reduction: "near_field" } });
    session = await provider(server).connect(config, handlers, new AbortController().signal);
    const update = await server.waitForClientEvent("session.update");

    expect(update.session).toMatchObject({
      audio: {
        input: {
          noise_reduction: { type: "near_field" },
          turn_detection: {
            type: "server_vad", threshold: 0.6, prefix_padding_ms: 250, silence_duration_ms: 600,
            create_response: true, interrupt_response: true,
          },
        },
        output: { voice: "cedar" },
      },
    });
  });

  it("maps semantic_vad eagerness and turns noise reduction off with null", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const config = testSessionConfig({ agent: { openai_vad_type: "semantic_vad", openai_vad_eagerness: "high", openai_noise_reduction: "disabled" } });
    session = await provider(server).connect(config, handlers, new AbortController().signal);
    const update = await server.waitForClientEvent("session.update");

    expect(update).toHaveProperty(["session", "audio", "input", "turn_detection"], {
      type: "semantic_vad", eagerness: "high", create_response: true, interrupt_response: true,
    });
    expect(update).toHaveProperty(["session", "audio", "input", "noise_reduction"], null);
  });

  it("builds input_audio_buffer.append around the payload untouched", () => {
    const payload = quietMulaw(160).toString("base64");
    const event = JSON.parse(appendAudioFrame(payload)) as InputAudioBufferAppendEvent;
    expect(event).toEqual({ type: "input_audio_buffer.append", audio: payload });
  });

  it("delivers appended caller audio to the server byte for byte", async () => {
    const { server, session } = await connected();
    const fixture = quietMulaw(160 * 50);
    const payloads = frames(fixture);
    for (const payload of payloads) session.appendAudio(payload);

    await server.waitForClientEvent("input_audio_buffer.append", payloads.length);
    expect(server.inputAudio().equals(fixture)).toBe(true);
  });

  it("speaks the greeting: response.create with the text, then audio, transcript and response done", async () => {
    const reply = toneReply("Thanks for calling Patchbay.", 600);
    const { server, session, seen } = await connected({ replies: [reply], audioPacing: "burst" });
    session.startGreeting();

    const create = await server.waitForClientEvent("response.create");
    expect(create.response?.instructions).toContain(`"Thanks for calling Patchbay."`);
    await until(() => only(seen, "responseDone").length === 1, "response done");

    const itemId = only(seen, "audio")[0]?.itemId ?? "";
    expect(decodedAudio(seen, itemId).equals(reply.audio)).toBe(true);
    const transcripts = only(seen, "transcript");
    expect(transcripts.filter((t) => !t.final).map((t) => t.text).join("")).toBe(reply.text);
    expect(transcripts.at(-1)).toEqual({ kind: "transcript", role: "agent", text: reply.text, final: true });
    expect(only(seen, "responseDone")[0]).toEqual({ kind: "responseDone", itemId, status: "completed" });
    expect(only(seen, "error")).toEqual([]);
  });

  it("opens with a plain response.create when there is no greeting text", async () => {
    const server = await startFake({ audioPacing: "burst" });
    const { handlers } = recordingHandlers();
    session = await provider(server).connect({ ...CONFIG, greeting: null }, handlers, new AbortController().signal);
    session.startGreeting();
    expect(await server.waitForClientEvent("response.create")).toEqual({ type: "response.create" });
  });

  it("reports the server VAD's speech_started, then the caller transcript and the automatic reply", async () => {
    const { session, seen } = await connected({ callerTexts: ["Where is my order?"], audioPacing: "burst" });
    const speech = toneReply("", 400, 300).audio;
    for (const payload of frames(Buffer.concat([quietMulaw(800), speech, quietMulaw(8 * 700)]))) session.appendAudio(payload);

    await until(() => only(seen, "responseDone").length === 1, "automatic reply");
    const order = seen.filter((s) => s.kind !== "audio" && !(s.kind === "transcript" && s.role === "agent"));
    expect(order.map((s) => s.kind)).toEqual(["speechStarted", "transcript", "responseDone"]);
    expect(only(seen, "transcript")[0]).toEqual({ kind: "transcript", role: "caller", text: "Where is my order?", final: true });
    expect(only(seen, "audio").length).toBeGreaterThan(0);
  });

  it("interrupts: response.cancel and a truncate at the played ms, and the reply ends cancelled", async () => {
    const { server, session, seen } = await connected({ replies: [toneReply("A long greeting.", 3_000)] });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 3, "three audio chunks");
    const itemId = only(seen, "audio")[0]?.itemId ?? "";

    session.interrupt(itemId, 250.7);
    await server.waitForClientEvent("conversation.item.truncate");
    await until(() => only(seen, "responseDone").length === 1, "cancelled reply");

    const tail = server.received.slice(-2).map((e) => e.type);
    expect(tail).toEqual(["response.cancel", "conversation.item.truncate"]);
    expect(server.truncates).toEqual([{ item_id: itemId, content_index: 0, audio_end_ms: 250 }]);
    expect(only(seen, "responseDone")[0]).toEqual({ kind: "responseDone", itemId, status: "cancelled" });
    const chunks = only(seen, "audio").length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(only(seen, "audio").length).toBe(chunks);
    expect(only(seen, "error")).toEqual([]);
  });

  it("barge-in racing the server VAD's own cancel: truncates, and the redundant cancel is not an error", async () => {
    const server = await startFake({ replies: [toneReply("A long greeting.", 3_000)], callerTexts: ["Wait."] });
    let live: RealtimeSession | null = null;
    // Like CallSession: interrupt at once from the speech_started callback, at what has played so far.
    const { handlers, seen } = recordingHandlers({
      onSpeechStarted: () => live?.interrupt(only(seen, "audio")[0]?.itemId ?? null, 120),
    });
    live = session = await provider(server).connect(CONFIG, handlers, new AbortController().signal);
    live.startGreeting();
    await until(() => only(seen, "audio").length >= 2, "greeting audio");
    const itemId = only(seen, "audio")[0]?.itemId ?? "";

    for (const payload of frames(toneReply("", 400, 300).audio)) live.appendAudio(payload);
    await server.waitForClientEvent("conversation.item.truncate");
    await until(() => only(seen, "responseDone").length >= 1, "cancelled greeting");
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect(only(seen, "responseDone")[0]).toEqual({ kind: "responseDone", itemId, status: "cancelled" });
    expect(server.received.some((e) => e.type === "response.cancel")).toBe(true);
    expect(server.truncates).toEqual([{ item_id: itemId, content_index: 0, audio_end_ms: 120 }]);
    expect(only(seen, "error")).toEqual([]);
  });

  it("never truncates past the audio it received, so the API has nothing to reject", async () => {
    const { server, session, seen } = await connected({ replies: [toneReply("Short.", 400)], audioPacing: "burst" });
    session.startGreeting();
    await until(() => only(seen, "responseDone").length === 1, "reply");
    const itemId = only(seen, "audio")[0]?.itemId ?? "";

    session.interrupt(itemId, 10_000);
    await server.waitForClientEvent("conversation.item.truncate");
    expect(server.truncates).toEqual([{ item_id: itemId, content_index: 0, audio_end_ms: 400 }]);
    expect(server.received.some((e) => e.type === "response.cancel")).toBe(false);
  });

  it("round-trips a tool call: onToolCall, then function_call_output and response.create", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    await server.waitForClientEvent("session.update");
    const callId = server.requestToolCall("lookup_order", { order_id: "A17" });

    await until(() => only(seen, "toolCall").length === 1, "tool call");
    expect(only(seen, "toolCall")[0]).toEqual({ kind: "toolCall", callId, name: "lookup_order", args: '{"order_id":"A17"}' });
    session.sendToolResult(callId, '{"status":"shipped"}');

    await server.waitForClientEvent("response.create");
    expect(server.received.slice(-2)).toEqual([
      { type: "conversation.item.create", item: { type: "function_call_output", call_id: callId, output: '{"status":"shipped"}' } },
      { type: "response.create" },
    ]);
    await until(() => only(seen, "responseDone").length === 2, "reply after the tool result");
    expect(only(seen, "audio").length).toBeGreaterThan(0);
  });

  it("answers a tool at once without a refused response.create: the follow-up waits for response.done", async () => {
    const server = await startFake({ audioPacing: "burst" });
    const { handlers, seen } = recordingHandlers();
    let live: RealtimeSession | null = null;
    // Like CallSession answering an unknown tool: inside onToolCall, while the calling response is open.
    const answering: RealtimeSessionHandlers = {
      ...handlers,
      onToolCall: (callId, name, args) => {
        handlers.onToolCall(callId, name, args);
        live?.sendToolResult(callId, '{"error":"unknown tool"}');
      },
    };
    session = live = await provider(server).connect(CONFIG, answering, new AbortController().signal);
    await server.waitForClientEvent("session.update");
    server.requestToolCall("lookup_order", { order_id: "A17" });
    await until(() => only(seen, "responseDone").length === 2, "reply after the tool result");
    expect(only(seen, "error")).toEqual([]);
    const types = server.received.map((e) => e.type);
    expect(types.indexOf("response.create")).toBeGreaterThan(types.indexOf("conversation.item.create"));
  });

  it("adds context as a user input_text item and asks for no reply", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    await server.waitForClientEvent("session.update");
    session.addContext("The caller entered 1234 on the keypad.");

    const item = await server.waitForClientEvent("conversation.item.create");
    expect(item).toEqual({
      type: "conversation.item.create",
      item: { type: "message", role: "user", content: [{ type: "input_text", text: "The caller entered 1234 on the keypad." }] },
    });
    await sleep(200);
    expect(server.received.map((e) => e.type)).not.toContain("response.create");
    expect(only(seen, "responseDone")).toEqual([]);
    expect(only(seen, "audio")).toEqual([]);
  });

  it("surfaces an error event with its message and stays usable", async () => {
    const { server, session, seen } = await connected();
    await server.waitForClientEvent("session.update");
    server.sendError("Invalid value for 'voice'.", "invalid_value");

    await until(() => only(seen, "error").length === 1, "error");
    const error = only(seen, "error")[0]?.error;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error?.code).toBe("provider_error_event");
    expect(error?.recoverable).toBe(true);
    expect(error?.message).toContain("Invalid value for 'voice'.");
    expect(error?.message).toContain("invalid_value");

    session.appendAudio(quietMulaw(160).toString("base64"));
    await server.waitForClientEvent("input_audio_buffer.append");
    expect(only(seen, "closed")).toEqual([]);
  });

  it("treats a rejected session.update as fatal: the line would carry the wrong audio format", async () => {
    const server = await startFake();
    const { handlers, seen } = recordingHandlers();
    session = await provider(server).connect({ ...CONFIG, voice: "robot" }, handlers, new AbortController().signal);
    await until(() => only(seen, "error").length === 1, "error");
    const error = only(seen, "error")[0]?.error;
    expect(error?.recoverable).toBe(false);
    expect(error?.message).toContain("Invalid value: 'robot'");
    expect(error?.message).toContain("rejected our session configuration");
  });

  it("reports a dropped socket as a fatal error, then closed(clean: false), exactly once", async () => {
    const { server, seen } = await connected();
    await server.waitForClientEvent("session.update");
    server.dropConnection();

    await until(() => only(seen, "closed").length === 1, "closed");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.map((s) => s.kind)).toEqual(["error", "closed"]);
    const error = only(seen, "error")[0]?.error;
    expect(error?.code).toBe("provider_socket_closed");
    expect(error?.recoverable).toBe(false);
    expect(only(seen, "closed")[0]?.info.clean).toBe(false);
  });

  it("close() is idempotent and reports closed(clean: true) once", async () => {
    const { server, session, seen } = await connected();
    await server.waitForClientEvent("session.update");
    session.close();
    session.close();

    await until(() => only(seen, "closed").length === 1, "closed");
    session.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([{ kind: "closed", info: { clean: true, code: 1000, reason: "call ended" } }]);
  });
});

describe("OpenAI Realtime adapter connect failures", () => {
  it("rejects a wrong key with provider_auth_failed", async () => {
    const server = await startFake();
    const { handlers, seen } = recordingHandlers();
    const attempt = provider(server, { apiKey: "sk-wrong" }).connect(CONFIG, handlers, new AbortController().signal);

    await expect(attempt).rejects.toMatchObject({ name: "ProviderError", code: "provider_auth_failed", recoverable: false });
    await expect(attempt).rejects.not.toThrow(/sk-wrong/);
    expect(seen).toEqual([]);
  });

  it("times out against a server that never answers the upgrade", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const { handlers, seen } = recordingHandlers();
      const slow = new OpenAIRealtimeProvider({
        apiKey: FAKE_OPENAI_API_KEY, baseURL: `http://127.0.0.1:${port}/v1`, model: "gpt-realtime", connectTimeoutMs: 150,
      });
      const started = performance.now();
      await expect(slow.connect(CONFIG, handlers, new AbortController().signal)).rejects.toMatchObject({
        code: "provider_connect_timeout",
      });
      expect(performance.now() - started).toBeLessThan(2_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("rejects when the caller aborts the connect", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    const controller = new AbortController();
    const attempt = provider(server).connect(CONFIG, handlers, controller.signal);
    controller.abort(new Error("caller hung up"));
    await expect(attempt).rejects.toMatchObject({ code: "provider_connect_failed" });
  });
});

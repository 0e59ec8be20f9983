import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { MULAW_8K } from "../../media/audioFormat.js";
import { OpenAIRealtimeProvider } from "../../providers/openai/index.js";
import { XAI_DEFAULT_MODEL, XaiRealtimeProvider, type XaiRealtimeOptions } from "../../providers/xai/index.js";
import { ProviderError, type ProviderSessionConfig, type RealtimeSession } from "../../providers/types.js";
import {
  FAKE_XAI_API_KEY,
  FakeOpenAIRealtimeServer,
  toneReply,
  type FakeOpenAIRealtimeOptions,
} from "../fakes/openaiRealtimeServer.js";
import { decodedAudio, frames, only, quietMulaw, recordingHandlers, sleep, until } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

const CONFIG: ProviderSessionConfig = testSessionConfig({
  voice: "ara",
  greeting: null,
  tools: [
    {
      name: "lookup_order",
      description: "Find an order by id",
      parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] },
    },
  ],
});

/** xAI's quiet caller audio has its own seed, so it differs from the OpenAI tests' bytes. */
const quiet = (bytes: number): Buffer => quietMulaw(bytes, 4242);

let fake: FakeOpenAIRealtimeServer | null = null;
let session: RealtimeSession | null = null;

async function startFake(options: FakeOpenAIRealtimeOptions = {}): Promise<FakeOpenAIRealtimeServer> {
  fake = await FakeOpenAIRealtimeServer.start({ dialect: "xai", ...options });
  return fake;
}

function provider(server: FakeOpenAIRealtimeServer, overrides: Partial<XaiRealtimeOptions> = {}): XaiRealtimeProvider {
  return new XaiRealtimeProvider({ apiKey: FAKE_XAI_API_KEY, baseURL: server.url, ...overrides });
}

async function connected(options: FakeOpenAIRealtimeOptions = {}, config: ProviderSessionConfig = CONFIG) {
  const server = await startFake(options);
  const { handlers, seen } = recordingHandlers();
  session = await provider(server).connect(config, handlers, new AbortController().signal);
  return { server, session, seen };
}

/** Client event types the adapter must never send to xAI. */
function undocumentedSent(server: FakeOpenAIRealtimeServer): string[] {
  return server.received.map((e) => e.type).filter((t) => t === "response.cancel" || t === "conversation.item.truncate");
}

afterEach(async () => {
  session?.close();
  session = null;
  await fake?.close();
  fake = null;
});

describe("xAI Grok voice adapter against the fake (xai dialect)", () => {
  it("opens with Bearer auth and the default model, and sends the hybrid session.update", async () => {
    const { server, session, seen } = await connected();
    const update = await server.waitForClientEvent("session.update");

    expect(new XaiRealtimeProvider({ apiKey: "k", baseURL: "https://api.x.ai/v1" }).name).toBe("xai");
    expect(server.handshakes[0]?.path).toBe(`/v1/realtime?model=${XAI_DEFAULT_MODEL}`);
    expect(server.handshakes[0]?.headers.authorization).toBe(`Bearer ${FAKE_XAI_API_KEY}`);
    expect(server.received[0]?.type).toBe("session.update");
    expect(update).toEqual({
      type: "session.update",
      event_id: "patchbay_session_update",
      session: {
        instructions: CONFIG.instructions,
        voice: "ara",
        turn_detection: { type: "server_vad", threshold: 0.6, silence_duration_ms: 600, prefix_padding_ms: 250 },
        audio: { input: { format: { type: "audio/pcmu" } }, output: { format: { type: "audio/pcmu" } } },
        tools: [{ type: "function", ...CONFIG.tools[0] }],
      },
    });
    expect(update.session).not.toHaveProperty("type");
    expect(session.capabilities).toEqual({ canTruncate: false, hasServerVad: true, needsLocalTurns: false, transcribesCaller: true });
    expect(session.inputFormat).toEqual(MULAW_8K);
    expect(session.outputFormat).toEqual(MULAW_8K);
    // The fake rejects a GA-shaped (session.type) update with an error: none may have arrived.
    await sleep(50);
    expect(only(seen, "error")).toEqual([]);
  });

  it("uses the configured model", async () => {
    const server = await startFake();
    const { handlers } = recordingHandlers();
    session = await provider(server, { model: "grok-voice-latest" }).connect(CONFIG, handlers, new AbortController().signal);
    expect(server.handshakes[0]?.path).toBe("/v1/realtime?model=grok-voice-latest");
  });

  it("puts the scripted greeting and the allowed speech tags into the instructions", async () => {
    const config = testSessionConfig({ greeting: "Thanks for calling Patchbay.", agent: { xai_audio_tags: ["laugh", "whisper", "[sigh]"] } });
    const { server, session } = await connected({ audioPacing: "burst" }, config);
    const update = await server.waitForClientEvent("session.update");
    const instructions = "instructions" in update.session ? (update.session.instructions ?? "") : "";

    expect(instructions.startsWith(config.instructions)).toBe(true);
    expect(instructions).toContain(`"Thanks for calling Patchbay."`);
    expect(instructions).toContain("[laugh]");
    expect(instructions).toContain("<whisper>…</whisper>");
    expect(instructions).toContain("[sigh]");

    session.startGreeting();
    expect(await server.waitForClientEvent("response.create")).toEqual({ type: "response.create" });
  });

  it("says nothing about speech tags when the agent has none", async () => {
    const { server } = await connected({}, testSessionConfig({ greeting: null, agent: { xai_audio_tags: [] } }));
    const update = await server.waitForClientEvent("session.update");
    expect(update.session).toMatchObject({ instructions: "You are Patchbay's test receptionist." });
  });

  it("passes caller μ-law through byte for byte", async () => {
    const { server, session } = await connected();
    const fixture = quiet(160 * 50);
    const payloads = frames(fixture);
    for (const payload of payloads) session.appendAudio(payload);

    const first = await server.waitForClientEvent("input_audio_buffer.append");
    expect(first.audio).toBe(payloads[0]);
    await server.waitForClientEvent("input_audio_buffer.append", payloads.length);
    expect(server.inputAudio().equals(fixture)).toBe(true);
  });

  it("delivers agent audio and both sides' transcripts", async () => {
    const reply = toneReply("Hello from Grok.", 600);
    const { server, session, seen } = await connected({ replies: [reply, toneReply("Sure thing.", 300)], callerTexts: ["Is anyone there?"], audioPacing: "burst" });
    session.startGreeting();
    await until(() => only(seen, "responseDone").length === 1, "greeting done");

    expect(decodedAudio(seen).equals(reply.audio)).toBe(true);
    expect(only(seen, "transcript").at(-1)).toEqual({ kind: "transcript", role: "agent", text: reply.text, final: true });
    const itemId = only(seen, "audio")[0]?.itemId ?? "";
    expect(only(seen, "responseDone")[0]).toEqual({ kind: "responseDone", itemId, status: "completed" });

    for (const payload of frames(Buffer.concat([toneReply("", 400, 300).audio, quiet(8 * 700)]))) session.appendAudio(payload);
    await until(() => only(seen, "responseDone").length === 2, "automatic reply");
    expect(only(seen, "speechStarted")).toHaveLength(1);
    expect(only(seen, "transcript").filter((t) => t.role === "caller")).toEqual([
      { kind: "transcript", role: "caller", text: "Is anyone there?", final: true },
    ]);
    expect(only(seen, "error")).toEqual([]);
    expect(server.received.filter((e) => e.type === "response.create")).toHaveLength(1);
  });

  it("interrupt sends no truncate or cancel and drops the rest of the interrupted reply's audio", async () => {
    const { server, session, seen } = await connected({ replies: [toneReply("A long greeting.", 2_000), toneReply("Next.", 300)], chunkMs: 100 });
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 3, "three audio chunks");
    const itemId = only(seen, "audio")[0]?.itemId ?? "";

    session.interrupt(itemId, 250);
    const heard = only(seen, "audio").length;
    // The fake keeps streaming the old reply (nothing cancelled it) until it completes.
    await until(() => only(seen, "responseDone").length === 1, "interrupted reply done", 5_000);
    expect(only(seen, "audio")).toHaveLength(heard);
    expect(only(seen, "responseDone")[0]).toEqual({ kind: "responseDone", itemId, status: "completed" });
    expect(undocumentedSent(server)).toEqual([]);

    // The caller speaks; the server VAD's next reply is heard again.
    for (const payload of frames(Buffer.concat([toneReply("", 400, 300).audio, quiet(8 * 700)]))) session.appendAudio(payload);
    await until(() => only(seen, "responseDone").length === 2, "next reply");
    expect(only(seen, "audio").length).toBeGreaterThan(heard);
    expect(only(seen, "audio").at(-1)?.itemId).not.toBe(itemId);
    expect(undocumentedSent(server)).toEqual([]);
    expect(only(seen, "error")).toEqual([]);
  });

  it("interrupt before the requested reply starts drops that whole reply", async () => {
    const { server, session, seen } = await connected({ replies: [toneReply("Stale.", 300)], audioPacing: "burst" });
    session.startGreeting();
    session.interrupt(null, 0);
    await until(() => only(seen, "responseDone").length === 1, "stale reply done");
    expect(only(seen, "audio")).toEqual([]);
    expect(undocumentedSent(server)).toEqual([]);
  });

  it("the fake answers truncate and cancel as unknown events (so the checks above can bite)", async () => {
    const server = await startFake();
    const { handlers, seen } = recordingHandlers();
    session = await new OpenAIRealtimeProvider({ apiKey: FAKE_XAI_API_KEY, baseURL: server.url, model: "x" }).connect(CONFIG, handlers, new AbortController().signal);
    session.startGreeting();
    await until(() => only(seen, "audio").length >= 1, "audio");
    session.interrupt(only(seen, "audio")[0]?.itemId ?? null, 50);
    await until(() => only(seen, "error").length >= 3, "errors for session.update, cancel and truncate");
    expect(only(seen, "error").map((s) => s.error.message).join("\n")).toMatch(/Unknown event type 'response.cancel'[\s\S]*Unknown event type 'conversation.item.truncate'/);
  });

  it("round-trips a tool call: onToolCall, then function_call_output and response.create", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    await server.waitForClientEvent("session.update");
    const callId = server.requestToolCall("lookup_order", { order_id: "A17" });

    await until(() => only(seen, "toolCall").length === 1, "tool call");
    expect(only(seen, "toolCall")[0]).toEqual({ kind: "toolCall", callId, name: "lookup_order", args: '{"order_id":"A17"}' });
    session.sendToolResult(callId, '{"status":"shipped"}');

    expect(await server.waitForToolOutput(callId)).toBe('{"status":"shipped"}');
    await server.waitForClientEvent("response.create");
    expect(server.received.slice(-2)).toEqual([
      { type: "conversation.item.create", item: { type: "function_call_output", call_id: callId, output: '{"status":"shipped"}' } },
      { type: "response.create" },
    ]);
    await until(() => only(seen, "responseDone").length === 2, "reply after the tool result");
    expect(only(seen, "audio").length).toBeGreaterThan(0);
  });

  it("adds context as a user input_text item and asks for no reply", async () => {
    const { server, session, seen } = await connected({ audioPacing: "burst" });
    await server.waitForClientEvent("session.update");
    session.addContext("The caller pressed 4 on the keypad.");

    const item = await server.waitForClientEvent("conversation.item.create");
    expect(item).toEqual({
      type: "conversation.item.create",
      item: { type: "message", role: "user", content: [{ type: "input_text", text: "The caller pressed 4 on the keypad." }] },
    });
    await sleep(200);
    expect(server.received.map((e) => e.type)).not.toContain("response.create");
    expect(only(seen, "responseDone")).toEqual([]);
    expect(only(seen, "error")).toEqual([]);
  });

  it("surfaces an error event as a recoverable provider_error_event and stays usable", async () => {
    const { server, session, seen } = await connected();
    await server.waitForClientEvent("session.update");
    server.sendError("Voice 'zed' is not available.", "invalid_value");

    await until(() => only(seen, "error").length === 1, "error");
    const error = only(seen, "error")[0]?.error;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error?.code).toBe("provider_error_event");
    expect(error?.recoverable).toBe(true);
    expect(error?.message).toContain("xAI");
    expect(error?.message).toContain("Voice 'zed' is not available.");

    session.appendAudio(quiet(160).toString("base64"));
    await server.waitForClientEvent("input_audio_buffer.append");
    expect(only(seen, "closed")).toEqual([]);
  });

  it("reports a dropped socket as provider_socket_closed, then closed(clean: false), exactly once", async () => {
    const { server, seen } = await connected();
    await server.waitForClientEvent("session.update");
    server.dropConnection();

    await until(() => only(seen, "closed").length === 1, "closed");
    await sleep(100);
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
    await sleep(100);
    expect(seen).toEqual([{ kind: "closed", info: { clean: true, code: 1000, reason: "call ended" } }]);
  });
});

describe("xAI Grok voice adapter connect failures", () => {
  it("rejects a wrong key with provider_auth_failed, without echoing the key", async () => {
    const server = await startFake();
    const { handlers, seen } = recordingHandlers();
    const attempt = provider(server, { apiKey: "xai-wrong" }).connect(CONFIG, handlers, new AbortController().signal);

    await expect(attempt).rejects.toMatchObject({ name: "ProviderError", code: "provider_auth_failed", recoverable: false });
    await expect(attempt).rejects.toThrow(/xAI/);
    await expect(attempt).rejects.not.toThrow(/xai-wrong/);
    expect(seen).toEqual([]);
  });

  it("times out against a server that never answers the upgrade", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const { handlers, seen } = recordingHandlers();
      const slow = new XaiRealtimeProvider({ apiKey: FAKE_XAI_API_KEY, baseURL: `http://127.0.0.1:${port}/v1`, connectTimeoutMs: 150 });
      const started = performance.now();
      await expect(slow.connect(CONFIG, handlers, new AbortController().signal)).rejects.toMatchObject({
        code: "provider_connect_timeout",
      });
      expect(performance.now() - started).toBeLessThan(2_000);
      await sleep(50);
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

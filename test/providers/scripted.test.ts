import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MULAW_8K } from "../../media/audioFormat.js";
import { readWav, writeMulawWav } from "../../media/wav.js";
import {
  DEFAULT_SCRIPT_PATH,
  REPLY_CHUNK_MS,
  REPLY_LEAD_MS,
  ScriptError,
  ScriptedProvider,
  loadScriptFile,
  type Script,
  type ScriptLine,
  type ScriptedSessionControls,
} from "../../providers/scripted/index.js";
import { ProviderError, type RealtimeSession } from "../../providers/types.js";
import { decodedAudio, only, recordingHandlers, type RecordingHooks, type Seen } from "./sessionRecorder.js";
import { testSessionConfig } from "./sessionConfig.js";

/** Distinct, recognisable μ-law bytes: `ms` long, every byte derived from `seed`. */
function tone(ms: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: ms * 8 }, (_, i) => (seed * 31 + i) & 0x7f));
}

const GREETING = { text: "Hello from the script.", audio: tone(450, 1) };
const ANSWER = { kind: "reply", text: "We open at nine.", audio: tone(300, 2), caller: "When do you open?", toolCall: null } as const;
const LOOKUP = {
  kind: "reply",
  text: "Your order ships today.",
  audio: tone(250, 3),
  caller: "Where is my order?",
  toolCall: { name: "lookup_order", arguments: '{"order_id":"A1"}' },
} as const;

function script(lines: readonly ScriptLine[]): Script {
  return { greeting: GREETING, lines };
}

const sessions: RealtimeSession[] = [];

async function connect(lines: readonly ScriptLine[], hooks: RecordingHooks = {}, toolResultTimeoutMs?: number) {
  const provider = new ScriptedProvider({ script: script(lines), toolResultTimeoutMs });
  const { handlers, seen } = recordingHandlers(hooks);
  const session = await provider.connect(testSessionConfig(), handlers, new AbortController().signal);
  sessions.push(session);
  const controls = provider.sessions.at(-1)!;
  return { provider, session, controls, seen };
}

/** The caller stops talking: CallSession's local VAD tells the session. */
function callerStopsTalking(session: RealtimeSession): void {
  session.callerSpeechEnded?.();
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const session of sessions.splice(0)) session.close();
  vi.useRealTimers();
});

describe("scripted script loading", () => {
  let dir = "";
  beforeEach(async () => {
    vi.useRealTimers();
    dir = await mkdtemp(join(tmpdir(), "scripted-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function scriptFile(body: unknown): Promise<string> {
    const path = join(dir, "script.json");
    await writeFile(path, typeof body === "string" ? body : JSON.stringify(body));
    return path;
  }

  async function loadError(body: unknown): Promise<ScriptError> {
    const error = await loadScriptFile(await scriptFile(body)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptError);
    return error as ScriptError;
  }

  it("resolves the bundled default script in the package's fixtures", () => {
    expect(DEFAULT_SCRIPT_PATH).toBe(resolve(import.meta.dirname, "../../fixtures/scripted/default.json"));
  });

  it("loads the default script with the greeting audio byte for byte from the fixture", async () => {
    const loaded = await loadScriptFile(DEFAULT_SCRIPT_PATH);
    const fixture = readWav(readFileSync(resolve(import.meta.dirname, "../../fixtures/agent-greeting.wav")));
    expect(loaded.greeting.text).toBe("Hello, thanks for calling Patchbay. How can I help you today?");
    expect(loaded.greeting.audio.equals(fixture.data)).toBe(true);
    expect(loaded.lines[0]).toMatchObject({ kind: "reply", caller: "Hi, what time do you open tomorrow?", toolCall: null });
  });

  it("reads lines of every kind, with audio relative to the script and tool arguments as JSON text", async () => {
    await writeFile(join(dir, "hi.wav"), writeMulawWav(tone(100, 4)));
    const loaded = await loadScriptFile(
      await scriptFile({
        greeting: { text: "Hi", audio: "hi.wav" },
        lines: [
          { text: "Checking", audio: "./hi.wav", tool_call: { name: "lookup", arguments: { id: 7 } } },
          { error: "rate limited" },
          { disconnect: "network gone" },
        ],
      }),
    );
    expect(loaded.greeting.audio.equals(tone(100, 4))).toBe(true);
    expect(loaded.lines).toEqual([
      { kind: "reply", text: "Checking", audio: tone(100, 4), caller: null, toolCall: { name: "lookup", arguments: '{"id":7}' } },
      { kind: "error", message: "rate limited" },
      { kind: "disconnect", reason: "network gone" },
    ]);
  });

  it("names every faulty line and field in one error", async () => {
    const error = await loadError({
      greeting: { text: "Hi" },
      lines: [
        { text: "ok", audio: "a.wav", tool_calls: {} },
        { text: "", audio: "a.wav" },
        { text: "x", audio: "a.wav", tool_call: { name: "t", arguments: [1] } },
        { error: "boom", text: "extra" },
        "just words",
      ],
    });
    expect(error.code).toBe("script_invalid");
    expect(error.problems).toEqual([
      "greeting.audio: missing a non-empty string",
      'lines[0]: unknown field "tool_calls" (allowed: caller, text, audio, tool_call)',
      "lines[1].text: must be a non-empty string",
      "lines[2].tool_call.arguments: must be a JSON object",
      'lines[3]: unknown field "text" (allowed: error)',
      'lines[4]: must be an object: a reply {"text", "audio"}, {"error": "..."} or {"disconnect": "..."}',
    ]);
    expect(error.message).toContain("lines[2].tool_call.arguments");
  });

  it("rejects a script without greeting or lines", async () => {
    expect((await loadError({})).problems).toEqual([
      'greeting: missing; expected an object {"text", "audio"}',
      "lines: missing; expected an array of lines",
    ]);
  });

  it("says when the file is not JSON or cannot be read", async () => {
    expect((await loadError("{ nope")).problems[0]).toMatch(/^not valid JSON/);
    const missing = await loadScriptFile(join(dir, "absent.json")).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: "script_unreadable" });
  });

  it("names the line whose audio is missing or not 8 kHz mono", async () => {
    await writeFile(join(dir, "hi.wav"), writeMulawWav(tone(100, 4)));
    await writeFile(join(dir, "wide.wav"), writeMulawWav(tone(100, 4), 16000));
    const error = await loadError({
      greeting: { text: "Hi", audio: "hi.wav" },
      lines: [{ text: "a", audio: "gone.wav" }, { text: "b", audio: "wide.wav" }],
    });
    expect(error.problems).toHaveLength(2);
    expect(error.problems[0]).toMatch(/^lines\[0\]\.audio: gone\.wav .*ENOENT/);
    expect(error.problems[1]).toMatch(/^lines\[1\]\.audio: wide\.wav .*16000 Hz.*8000 Hz mono/);
  });
});

describe("scripted session", () => {
  it("declares μ-law both ways and takes turns from the local VAD", async () => {
    const { session } = await connect([ANSWER]);
    expect(session.capabilities).toEqual({ canTruncate: false, hasServerVad: false, needsLocalTurns: true, transcribesCaller: true });
    expect(session.inputFormat).toEqual(MULAW_8K);
    expect(session.outputFormat).toEqual(MULAW_8K);
  });

  it("speaks the greeting in ~100 ms chunks paced in real time, then reports it done", async () => {
    const { session, seen } = await connect([ANSWER]);
    session.startGreeting();
    expect(seen).toEqual([]);

    await vi.advanceTimersByTimeAsync(0);
    const leadChunks = REPLY_LEAD_MS / REPLY_CHUNK_MS + 1;
    expect(only(seen, "audio")).toHaveLength(leadChunks);
    expect(seen[1]).toEqual({ kind: "transcript", role: "agent", text: GREETING.text, final: true });

    await vi.advanceTimersByTimeAsync(REPLY_CHUNK_MS);
    expect(only(seen, "audio")).toHaveLength(leadChunks + 1);

    await vi.advanceTimersByTimeAsync(1_000);
    expect(only(seen, "audio").map((a) => a.itemId)).toEqual(Array(5).fill("scripted-1"));
    expect(only(seen, "audio")[0]!.payload).toBe(GREETING.audio.subarray(0, 800).toString("base64"));
    expect(decodedAudio(seen, "scripted-1").equals(GREETING.audio)).toBe(true);
    expect(seen.at(-1)).toEqual({ kind: "responseDone", itemId: "scripted-1", status: "completed" });
  });

  it("answers each caller turn with the next line, its caller text at the turn's end, and cycles to the first reply", async () => {
    const other = { ...ANSWER, text: "Goodbye.", audio: tone(100, 5), caller: null };
    const { session, seen } = await connect([{ kind: "error", message: "once" }, ANSWER, other]);
    const turn = async (): Promise<Seen[]> => {
      const from = seen.length;
      callerStopsTalking(session);
      await vi.advanceTimersByTimeAsync(1_000);
      return seen.slice(from);
    };

    expect((await turn()).map((s) => s.kind)).toEqual(["error"]);
    const second = await turn();
    expect(second[0]).toEqual({ kind: "transcript", role: "caller", text: ANSWER.caller, final: true });
    expect(only(second, "transcript")[1]).toMatchObject({ role: "agent", text: ANSWER.text });
    expect(decodedAudio(second, "scripted-1").equals(ANSWER.audio)).toBe(true);
    const third = await turn();
    expect(only(third, "transcript")).toEqual([{ kind: "transcript", role: "agent", text: "Goodbye.", final: true }]);
    expect(decodedAudio(third, "scripted-2").equals(other.audio)).toBe(true);
    // Out of lines: on from the first reply line; the rehearsed error is not repeated.
    const fourth = await turn();
    expect(only(fourth, "error")).toEqual([]);
    expect(decodedAudio(fourth, "scripted-3").equals(ANSWER.audio)).toBe(true);
  });

  it("stays silent on caller turns when the script has no reply lines", async () => {
    const { session, seen } = await connect([]);
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toEqual([]);
  });

  it("stops the reply at once on interrupt: no more chunks", async () => {
    const { session, seen } = await connect([ANSWER]);
    session.startGreeting();
    await vi.advanceTimersByTimeAsync(REPLY_CHUNK_MS);
    const sent = only(seen, "audio").length;

    session.interrupt("scripted-1", 150);
    expect(seen.at(-1)).toEqual({ kind: "responseDone", itemId: "scripted-1", status: "cancelled" });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(only(seen, "audio")).toHaveLength(sent);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a caller turn during a reply cuts it and starts the next line", async () => {
    const { session, seen } = await connect([ANSWER]);
    session.startGreeting();
    await vi.advanceTimersByTimeAsync(0);
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(only(seen, "responseDone")).toEqual([
      { kind: "responseDone", itemId: "scripted-1", status: "cancelled" },
      { kind: "responseDone", itemId: "scripted-2", status: "completed" },
    ]);
    expect(decodedAudio(seen, "scripted-2").equals(ANSWER.audio)).toBe(true);
  });

  it("a tool call line waits for the result, then speaks", async () => {
    const { session, controls, seen } = await connect([LOOKUP]);
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(0);
    const [call] = only(seen, "toolCall");
    expect(call).toEqual({ kind: "toolCall", callId: "scripted-call-1", name: "lookup_order", args: '{"order_id":"A1"}' });

    await vi.advanceTimersByTimeAsync(2_000);
    expect(only(seen, "audio")).toEqual([]);
    // Another caller turn while the tool runs gets no line of its own.
    callerStopsTalking(session);

    session.sendToolResult(call!.callId, '{"status":"shipped"}');
    await expect(controls.waitForToolResult(call!.callId)).resolves.toBe('{"status":"shipped"}');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(decodedAudio(seen, "scripted-1").equals(LOOKUP.audio)).toBe(true);
    expect(only(seen, "error")).toEqual([]);
  });

  it("takes a tool result sent from inside onToolCall, as the call does", async () => {
    let answer: (callId: string) => void = () => {};
    const { session, seen } = await connect([LOOKUP], { onToolCall: (callId) => answer(callId) });
    answer = (callId) => session.sendToolResult(callId, "{}");
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(only(seen, "error")).toEqual([]);
    expect(decodedAudio(seen, "scripted-1").equals(LOOKUP.audio)).toBe(true);
  });

  it("speaks a tool call line anyway when its result never comes, and says so", async () => {
    const { session, seen } = await connect([LOOKUP], {}, 3_000);
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(only(seen, "audio")).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    const [error] = only(seen, "error");
    expect(error!.error).toMatchObject({ code: "provider_error_event", recoverable: true });
    expect(error!.error.message).toContain("scripted-call-1 got no result within 3000 ms");
    expect(decodedAudio(seen, "scripted-1").equals(LOOKUP.audio)).toBe(true);
  });

  it("an error line surfaces a recoverable provider error and the session goes on", async () => {
    const { session, seen } = await connect([{ kind: "error", message: "rate limit reached" }, ANSWER]);
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(0);
    const [error] = only(seen, "error");
    expect(error!.error).toBeInstanceOf(ProviderError);
    expect(error!.error).toMatchObject({ code: "provider_error_event", recoverable: true });
    expect(error!.error.message).toContain("rate limit reached");

    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(decodedAudio(seen, "scripted-1").equals(ANSWER.audio)).toBe(true);
  });

  it("a disconnect line behaves like a dropped socket: fatal error, unclean close, nothing after", async () => {
    const { provider, session, seen } = await connect([{ kind: "disconnect", reason: "network gone" }, ANSWER]);
    callerStopsTalking(session);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.map((s) => s.kind)).toEqual(["error", "closed"]);
    expect(only(seen, "error")[0]!.error).toMatchObject({ code: "provider_socket_closed", recoverable: false });
    expect(only(seen, "closed")[0]!.info).toEqual({ clean: false, reason: "network gone" });
    expect(provider.sessions).toEqual([]);

    callerStopsTalking(session);
    session.startGreeting();
    session.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("close mid-reply clears every timer and reports a clean close exactly once", async () => {
    const { provider, session, controls, seen } = await connect([LOOKUP]);
    session.startGreeting();
    await vi.advanceTimersByTimeAsync(0);
    const callId = controls.requestToolCall("lookup_hours", { day: "tomorrow" });
    const pending = controls.waitForToolResult(callId, 60_000);

    session.close();
    session.close();
    expect(only(seen, "closed")).toEqual([{ kind: "closed", info: { clean: true, reason: "closed by Patchbay" } }]);
    await expect(pending).rejects.toThrow(/closed .* before tool call scripted-call-1 got a result/);
    expect(vi.getTimerCount()).toBe(0);
    expect(provider.sessions).toEqual([]);
    const after = seen.length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(seen).toHaveLength(after);
  });

  it("a throwing handler is reported, never thrown into the timer", async () => {
    let throws = true;
    const { session, seen } = await connect([ANSWER], {
      onAudio: () => {
        if (throws) {
          throws = false;
          throw new Error("sink broke");
        }
      },
    });
    session.startGreeting();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(only(seen, "error")[0]!.error).toMatchObject({ code: "provider_protocol_error", recoverable: true });
    expect(decodedAudio(seen, "scripted-1").equals(GREETING.audio)).toBe(true);
  });

  it("refuses to connect once the call gave up", async () => {
    const provider = new ScriptedProvider({ script: script([ANSWER]) });
    const abort = new AbortController();
    abort.abort();
    await expect(provider.connect(testSessionConfig(), recordingHandlers().handlers, abort.signal)).rejects.toMatchObject({
      code: "provider_connect_failed",
    });
    expect(provider.sessions).toEqual([]);
  });
});

describe("scripted session controls (the stand-in remote end)", () => {
  it("keeps the caller audio it received, in order", async () => {
    const { session, controls } = await connect([ANSWER]);
    const caller = tone(1_000, 9);
    for (let i = 0; i < caller.length; i += 160) session.appendAudio(caller.subarray(i, i + 160).toString("base64"));
    expect(controls.inputAudio().equals(caller)).toBe(true);
  });

  it("keeps the context it is given, in order, and does not answer it", async () => {
    const { session, controls, seen } = await connect([ANSWER]);
    session.addContext("The caller pressed 4 on the keypad.");
    session.addContext("The caller entered 1234 on the keypad.");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(controls.contextReceived()).toEqual(["The caller pressed 4 on the keypad.", "The caller entered 1234 on the keypad."]);
    expect(only(seen, "audio")).toEqual([]);
    expect(only(seen, "transcript")).toEqual([]);
  });

  it("caps the kept caller audio at two minutes", async () => {
    const { session, controls } = await connect([ANSWER]);
    const second = tone(1_000, 3).toString("base64");
    for (let i = 0; i < 150; i++) session.appendAudio(second);
    expect(controls.inputAudio().length).toBe(120_000 * 8);
  });

  it("sends a recoverable error and a tool call, and hears the result by id", async () => {
    const { session, controls, seen } = await connect([ANSWER]);
    controls.sendError("conformance: rate limit");
    expect(only(seen, "error")[0]!.error).toMatchObject({ code: "provider_error_event", recoverable: true });
    expect(only(seen, "error")[0]!.error.message).toContain("conformance: rate limit");

    const callId = controls.requestToolCall("lookup_hours", { day: "tomorrow" });
    expect(only(seen, "toolCall")).toEqual([{ kind: "toolCall", callId, name: "lookup_hours", args: '{"day":"tomorrow"}' }]);
    const result = controls.waitForToolResult(callId);
    session.sendToolResult(callId, '{"open":"9am"}');
    await expect(result).resolves.toBe('{"open":"9am"}');
    await expect(controls.waitForToolResult("nope")).rejects.toThrow(/no tool call nope/);
  });

  it("times out waiting for a tool result that never comes", async () => {
    const { controls } = await connect([ANSWER]);
    const callId = controls.requestToolCall("lookup_hours", {});
    const result = controls.waitForToolResult(callId, 1_000);
    const check = expect(result).rejects.toThrow(/no result for tool call .* within 1000 ms/);
    await vi.advanceTimersByTimeAsync(1_000);
    await check;
  });

  it("drop() ends the session like a network failure and the provider forgets it", async () => {
    const { provider, controls, seen } = await connect([ANSWER]);
    const listed: ScriptedSessionControls[] = [...provider.sessions];
    expect(listed).toHaveLength(1);
    controls.drop();
    expect(seen.map((s) => s.kind)).toEqual(["error", "closed"]);
    expect(only(seen, "closed")[0]!.info.clean).toBe(false);
    expect(provider.sessions).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

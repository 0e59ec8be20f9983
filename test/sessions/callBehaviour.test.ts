/** CallSession's phone behaviour: end_call, limits, transfers and functions, driven through its ports. */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ToolDefinition } from "../../providers/types.js";
import { LATE_MACHINE_GREETING_MS } from "../../sessions/answeringMachine.js";
import { builtinToolDefinitions } from "../../sessions/builtinTools.js";
import type { CallControl, CallFunctions, CallPolicy, FunctionCallResult, TransferRequest } from "../../sessions/index.js";
import { marks, setup } from "./harness.js";

afterEach(() => vi.useRealTimers());

const LINES = { maxDuration: "Time is up, goodbye.", stillThere: "Are you still there?", silenceGoodbye: "Goodbye for now." };
const TARGETS = [{ name: "Billing", number: "+15550100077", reason: "invoices" }];

function policy(overrides: Partial<CallPolicy> = {}): CallPolicy {
  return { maxDurationMs: 0, maxSilenceMs: 0, amd: null, transferTargets: TARGETS, lines: LINES, ...overrides };
}

function recordingControl() {
  const hangUps: number[] = [];
  const transfers: TransferRequest[] = [];
  let failTransfer = false;
  const control: CallControl = {
    hangUp: async () => {
      hangUps.push(Date.now());
    },
    transfer: async (request) => {
      transfers.push(request);
      if (failTransfer) throw new Error("Twilio refused the redirect");
    },
  };
  return { control, hangUps, transfers, failNextTransfer: () => (failTransfer = true) };
}

const tools: ToolDefinition[] = builtinToolDefinitions(null, TARGETS);

async function liveCall(opts: Parameters<typeof setup>[0] = {}) {
  const rc = recordingControl();
  const harness = setup({ control: rc.control, policy: policy(), config: { tools }, ...opts });
  harness.call.start();
  await harness.steps.providerConnects();
  harness.steps.twilioStarts();
  return { ...harness, ...rc };
}

describe("end_call", () => {
  it("lets the goodbye play to its last mark, then hangs up through Twilio without a tool result", async () => {
    const { call, steps, sent, session, hangUps, finished } = await liveCall();
    steps.modelSendsAudio(400, "bye");
    session().handlers.onToolCall("t1", "end_call", JSON.stringify({ reason: "caller is done" }));
    session().handlers.onResponseDone("bye", "completed");
    expect(hangUps).toHaveLength(0);
    expect(call.phase).toBe("active");
    steps.twilioEchoesMark(marks(sent).at(-1)!);
    await call.ended;
    expect(hangUps).toHaveLength(1);
    expect(session().toolResults).toEqual([]);
    expect(finished[0]?.metadata).toMatchObject({ end_reason: "agent_ended_call", end_detail: "caller is done" });
    expect(finished[0]?.metadata.tool_calls).toMatchObject([{ name: "end_call", call_id: "t1", ok: true }]);
  });

  it("does not let the caller barge in on the goodbye", async () => {
    const { steps, session } = await liveCall();
    steps.modelSendsAudio(400, "bye");
    session().handlers.onToolCall("t1", "end_call", "{}");
    steps.callerStartsSpeaking();
    expect(session().interrupts).toEqual([]);
  });

  it("is refused when the agent doesn't offer it", async () => {
    const { steps, session, hangUps } = await liveCall({ config: { tools: [] } });
    steps.modelSendsAudio(100, "a");
    session().handlers.onToolCall("t1", "end_call", "{}");
    expect(session().toolResults).toEqual([{ id: "t1", output: JSON.stringify({ error: "unknown tool end_call" }) }]);
    expect(hangUps).toEqual([]);
  });
});

describe("max call duration", () => {
  it("cuts the reply, speaks the closing line and hangs up once it has played", async () => {
    vi.useFakeTimers();
    const { call, steps, sent, session, hangUps, finished } = await liveCall({ policy: policy({ maxDurationMs: 10_000 }) });
    steps.advance(9_500);
    await vi.advanceTimersByTimeAsync(9_500);
    steps.modelSendsAudio(2_000, "long");
    steps.advance(500);
    await vi.advanceTimersByTimeAsync(500);
    expect(session().interrupts).toHaveLength(1);
    expect(sent.some((f) => (f as { event: string }).event === "clear")).toBe(true);
    expect(session().said).toEqual([LINES.maxDuration]);
    // The cut reply reports done late: it must not count as the closing line.
    session().handlers.onResponseDone("long", "cancelled");
    steps.modelSendsAudio(1_500, "closing");
    session().handlers.onResponseDone("closing", "completed");
    expect(hangUps).toHaveLength(0);
    steps.twilioEchoesMark(marks(sent).at(-1)!);
    await call.ended;
    expect(hangUps).toHaveLength(1);
    expect(finished[0]?.metadata.end_reason).toBe("max_duration");
  });
});

describe("max silence", () => {
  it("asks once if the caller is still there, then says goodbye and hangs up", async () => {
    vi.useFakeTimers();
    const { call, steps, sent, session, hangUps, finished } = await liveCall({ policy: policy({ maxSilenceMs: 5_000 }) });
    steps.advance(4_000);
    await vi.advanceTimersByTimeAsync(250);
    expect(session().said).toEqual([]);
    steps.advance(1_100);
    await vi.advanceTimersByTimeAsync(250);
    expect(session().said).toEqual([LINES.stillThere]);
    // The question itself is agent audio, not the caller's silence.
    steps.modelSendsAudio(1_000, "q");
    steps.advance(900);
    await vi.advanceTimersByTimeAsync(250);
    steps.twilioEchoesMark(marks(sent).at(-1)!);
    steps.advance(4_000);
    await vi.advanceTimersByTimeAsync(250);
    expect(session().said).toEqual([LINES.stillThere]);
    steps.advance(1_100);
    await vi.advanceTimersByTimeAsync(250);
    expect(session().said).toEqual([LINES.stillThere, LINES.silenceGoodbye]);
    steps.modelSendsAudio(800, "bye");
    session().handlers.onResponseDone("bye", "completed");
    steps.twilioEchoesMark(marks(sent).at(-1)!);
    await call.ended;
    expect(hangUps).toHaveLength(1);
    expect(finished[0]?.metadata).toMatchObject({ end_reason: "max_silence", still_there_prompts: 1 });
  });

  it("starts over when the caller answers the question", async () => {
    vi.useFakeTimers();
    const { steps, session, call } = await liveCall({ policy: policy({ maxSilenceMs: 5_000 }) });
    steps.advance(5_100);
    await vi.advanceTimersByTimeAsync(250);
    expect(session().said).toEqual([LINES.stillThere]);
    steps.advance(3_000);
    steps.callerStartsSpeaking();
    steps.advance(3_000);
    await vi.advanceTimersByTimeAsync(250);
    expect(session().said).toEqual([LINES.stillThere]);
    expect(call.phase).toBe("active");
  });
});

describe("transfer_call", () => {
  it("redirects after the hand-off line, survives the stream's stop, and ends when the callee answers", async () => {
    const { call, steps, sent, session, transfers, finished } = await liveCall();
    steps.modelSendsAudio(300, "handoff");
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "billing", reason: "wants a refund" }));
    session().handlers.onResponseDone("handoff", "completed");
    expect(transfers).toHaveLength(0);
    steps.twilioEchoesMark(marks(sent).at(-1)!);
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ target: TARGETS[0], reason: "wants a refund" });
    call.onTwilioMessage({ event: "stop", sequenceNumber: "9", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } });
    call.onStreamClosed(1000, "");
    expect(call.phase).toBe("active");
    call.onTransferAnswered();
    await call.ended;
    expect(finished[0]?.metadata).toMatchObject({ end_reason: "transferred", end_detail: "Billing" });
  });

  it("brings the caller back on a new stream when the transfer fails, and tells the model why", async () => {
    const { call, steps, session, transfers } = await liveCall();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "refund" }));
    session().handlers.onResponseDone(null, "completed");
    expect(transfers).toHaveLength(1);
    call.onTwilioMessage({ event: "stop", sequenceNumber: "9", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } });
    call.onTransferFailed("busy");
    const frames: string[] = [];
    call.attachStream({ send: (f) => frames.push(f), close: () => {} }, "MZ2");
    expect(session().toolResults).toHaveLength(1);
    expect(JSON.parse(session().toolResults[0]!.output)).toMatchObject({ transferred: false, outcome: "busy" });
    steps.modelSendsAudio(100, "sorry");
    expect(JSON.parse(frames[0]!)).toMatchObject({ event: "media", streamSid: "MZ2" });
    expect(call.phase).toBe("active");
  });

  it("hears the caller again on the new stream, whose timestamps start over", async () => {
    const { call, steps, session } = await liveCall();
    for (let i = 0; i < 100; i++) steps.callerSends(Buffer.alloc(160, 0x11).toString("base64"), 5_000 + i * 20);
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "refund" }));
    session().handlers.onResponseDone(null, "completed");
    call.onTwilioMessage({ event: "stop", sequenceNumber: "9", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } });
    call.onTransferFailed("no-answer");
    call.attachStream({ send: () => {}, close: () => {} }, "MZ2");
    const before = session().audioIn.length;
    const frame = Buffer.alloc(160, 0x22).toString("base64");
    call.onTwilioMessage({ event: "media", sequenceNumber: "2", streamSid: "MZ2", media: { track: "inbound", chunk: "1", timestamp: "52", payload: frame } });
    call.onTwilioMessage({ event: "media", sequenceNumber: "3", streamSid: "MZ2", media: { track: "inbound", chunk: "2", timestamp: "72", payload: frame } });
    expect(session().audioIn.slice(before)).toEqual([frame, frame]);
  });

  it("ignores end_call while the caller is being transferred", async () => {
    const { call, session, hangUps, transfers } = await liveCall();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "refund" }));
    session().handlers.onToolCall("t10", "end_call", "{}");
    session().handlers.onResponseDone(null, "completed");
    expect(transfers).toHaveLength(1);
    expect(hangUps).toEqual([]);
    expect(call.phase).toBe("active");
  });

  it("ends the call when the redirect fails after the caller's stream has already gone", async () => {
    const { call, session, failNextTransfer, finished } = await liveCall();
    failNextTransfer();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "x" }));
    session().handlers.onResponseDone(null, "completed");
    call.onTwilioMessage({ event: "stop", sequenceNumber: "9", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } });
    await call.ended;
    expect(finished[0]?.metadata.end_reason).toBe("stream_stopped");
  });

  it("lets the call go when a failed transfer's caller never comes back", async () => {
    vi.useFakeTimers();
    const { call, session, finished } = await liveCall();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "x" }));
    session().handlers.onResponseDone(null, "completed");
    await vi.advanceTimersByTimeAsync(0);
    call.onTwilioMessage({ event: "stop", sequenceNumber: "9", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } });
    call.onTransferFailed("canceled");
    await vi.advanceTimersByTimeAsync(16_000);
    await call.ended;
    expect(finished[0]?.metadata).toMatchObject({ end_reason: "stream_stopped" });
  });

  it("ends the call at once when the caller hung up while the target rang", async () => {
    const { call, session, finished } = await liveCall();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "x" }));
    session().handlers.onResponseDone(null, "completed");
    call.onTwilioMessage({ event: "stop", sequenceNumber: "9", streamSid: "MZ1", stop: { accountSid: "AC1", callSid: "CA1" } });
    call.onTransferFailed("no-answer", true);
    expect(call.phase).toBe("ended");
    await call.ended;
    expect(finished[0]?.metadata).toMatchObject({ end_reason: "stream_stopped", end_detail: "the caller hung up during the transfer to Billing (no-answer)" });
  });

  it("answers the model with the target names when it asks for one that doesn't exist", async () => {
    const { session, transfers } = await liveCall();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Sales", reason: "x" }));
    expect(transfers).toEqual([]);
    expect(session().toolResults[0]!.output).toMatch(/Billing/);
  });

  it("tells the model when Twilio refuses the redirect, and the call goes on", async () => {
    const { session, failNextTransfer, call } = await liveCall();
    failNextTransfer();
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "x" }));
    session().handlers.onResponseDone(null, "completed");
    await vi.waitFor(() => expect(session().toolResults).toHaveLength(1));
    expect(JSON.parse(session().toolResults[0]!.output)).toMatchObject({ transferred: false });
    expect(call.phase).toBe("active");
  });
});

describe("custom functions", () => {
  function functions(result: Promise<FunctionCallResult>) {
    const calls: { name: string; args: string }[] = [];
    const fns: CallFunctions = {
      lookup: (name) => (name === "check_stock" ? { speakDuringExecution: true } : undefined),
      invoke: (name, args) => {
        calls.push({ name, args });
        return result;
      },
    };
    return { fns, calls };
  }

  it("hands the webhook's result to the model, logs it, and speaks while a slow one runs", async () => {
    vi.useFakeTimers();
    let settle!: (r: FunctionCallResult) => void;
    const { fns, calls } = functions(new Promise((resolve) => (settle = resolve)));
    const { call, session, finished, steps } = await liveCall({ functions: fns });
    session().handlers.onToolCall("f1", "check_stock", '{"sku":"A1"}');
    expect(calls).toEqual([{ name: "check_stock", args: '{"sku":"A1"}' }]);
    await vi.advanceTimersByTimeAsync(800);
    expect(session().replyRequests).toHaveLength(1);
    steps.advance(1_200);
    settle({ ok: true, output: '{"in_stock":3}', httpStatus: 200, error: null });
    await vi.advanceTimersByTimeAsync(0);
    expect(session().toolResults).toEqual([{ id: "f1", output: '{"in_stock":3}' }]);
    await call.end("stream_stopped");
    expect(finished[0]?.metadata.tool_calls).toEqual([{ name: "check_stock", call_id: "f1", at_ms: 0, duration_ms: 1200, ok: true, http_status: 200 }]);
  });

  it("doesn't speak over a quick one", async () => {
    vi.useFakeTimers();
    const { fns } = functions(Promise.resolve({ ok: false, output: '{"error":"timed out"}', httpStatus: null, error: "timeout" }));
    const { session } = await liveCall({ functions: fns });
    session().handlers.onToolCall("f1", "check_stock", "{}");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(session().replyRequests).toEqual([]);
    expect(session().toolResults).toEqual([{ id: "f1", output: '{"error":"timed out"}' }]);
  });
});

describe("answering machines on a placed call", () => {
  const MESSAGE = "Hi, this is Patchbay calling about your order. Please call us back.";
  function amd(overrides: Partial<NonNullable<CallPolicy["amd"]>> = {}): CallPolicy {
    return policy({ amd: { behavior: "static_message", message: MESSAGE, audio: null, holdGreetingMs: 5_000, ...overrides } });
  }
  const silenceFrame = Buffer.alloc(160, 0xff).toString("base64");

  it("holds the greeting and the caller's audio until a person is known to have answered", async () => {
    const { call, steps, session } = await liveCall({ policy: amd() });
    steps.callerSends(silenceFrame);
    expect(session().greetings).toBe(0);
    expect(session().audioIn).toEqual([]);
    call.onAnsweredBy("human", 2_100);
    expect(session().greetings).toBe(1);
    steps.callerSends(silenceFrame);
    expect(session().audioIn).toHaveLength(1);
  });

  it("greets anyway when no verdict comes within the hold", async () => {
    const { steps, session } = await liveCall({ policy: amd({ holdGreetingMs: 1_000 }) });
    for (let i = 0; i < 49; i++) steps.callerSends(silenceFrame);
    expect(session().greetings).toBe(0);
    for (let i = 0; i < 3; i++) steps.callerSends(silenceFrame);
    expect(session().greetings).toBe(1);
  });

  it("static_message: speaks the message once the greeting has ended, and hangs up after its last mark", async () => {
    const { call, steps, sent, session, hangUps, finished } = await liveCall({ policy: amd() });
    call.onAnsweredBy("machine_start", 3_000);
    expect(session().said).toEqual([]);
    call.onAnsweredBy("machine_end_beep", 9_000);
    expect(session().said).toEqual([MESSAGE]);
    expect(session().greetings).toBe(0);
    steps.modelSendsAudio(3_000, "vm");
    session().handlers.onResponseDone("vm", "completed");
    expect(hangUps).toEqual([]);
    steps.twilioEchoesMark(marks(sent).at(-1)!);
    await call.ended;
    expect(hangUps).toHaveLength(1);
    expect(finished[0]?.metadata).toMatchObject({
      end_reason: "voicemail_left",
      amd: { answered_by: "machine_end_beep", answered_by_local: "machine", decided_by: "twilio", greeting_end: { source: "twilio" } },
    });
  });

  it("hangup: hangs up through Twilio as soon as a machine is detected", async () => {
    const { call, session, hangUps, finished } = await liveCall({ policy: amd({ behavior: "hangup" }) });
    call.onAnsweredBy("machine_start", 3_000);
    await call.ended;
    expect(hangUps).toHaveLength(1);
    expect(session().said).toEqual([]);
    expect(finished[0]?.metadata.end_reason).toBe("voicemail_hangup");
  });

  it("agent_decides: tells the model it reached voicemail after the beep", async () => {
    const { call, session } = await liveCall({ policy: amd({ behavior: "agent_decides", message: null }) });
    call.onAnsweredBy("machine_end_beep", 6_000);
    expect(session().replyRequests).toHaveLength(1);
    expect(session().replyRequests[0]).toMatch(/answering machine/);
  });

  it("plays recorded voicemail audio straight to Twilio, then hangs up after its last mark", async () => {
    const audio = Buffer.alloc(12_000, 0x7f);
    const { call, steps, sent, session, hangUps } = await liveCall({ policy: amd({ audio: Promise.resolve(audio) }) });
    call.onAnsweredBy("machine_end_silence", 7_000);
    await vi.waitFor(() => expect(marks(sent)).toEqual(["0:1000", "0:1500"]));
    expect(session().said).toEqual([]);
    steps.twilioEchoesMark("0:1000");
    expect(hangUps).toEqual([]);
    steps.twilioEchoesMark("0:1500");
    await call.ended;
    expect(hangUps).toHaveLength(1);
  });

  it("leaves the message once the provider is up when the machine's greeting ended while it connected", async () => {
    const rc = recordingControl();
    const harness = setup({ control: rc.control, policy: amd(), config: { tools } });
    harness.call.start();
    harness.steps.twilioStarts();
    harness.call.onAnsweredBy("machine_end_beep", 5_000);
    await harness.steps.providerConnects();
    expect(harness.session().said).toEqual([MESSAGE]);
    expect(harness.session().greetings).toBe(0);
  });

  it("a late machine_start after the hold timed out: cuts the agent off, then leaves the message once the greeting's cap passes", async () => {
    const { call, steps, sent, session, finished } = await liveCall({ policy: amd({ holdGreetingMs: 1_000 }) });
    for (let i = 0; i < 52; i++) steps.callerSends(silenceFrame);
    expect(session().greetings).toBe(1);
    steps.modelSendsAudio(2_000, "hello");
    call.onAnsweredBy("machine_start", 1_900);
    expect((sent as { event: string }[]).filter((f) => f.event === "clear")).toHaveLength(1);
    expect(session().interrupts).toEqual([{ itemId: "hello", playedMs: 0 }]);
    const audioBefore = session().audioIn.length;
    for (let i = 0; i < LATE_MACHINE_GREETING_MS / 20 - 1; i++) steps.callerSends(silenceFrame);
    expect(session().said).toEqual([]);
    // Held again: the machine's greeting is not for the model.
    expect(session().audioIn).toHaveLength(audioBefore);
    steps.callerSends(silenceFrame);
    expect(session().said).toEqual([MESSAGE]);
    await call.end("stream_stopped");
    expect(finished[0]?.metadata).toMatchObject({
      amd: { answered_by: "machine_start", answered_by_local: "machine", decided_by: "twilio", revised_from: "timeout", greeting_end: { source: "timeout" } },
    });
  });

  it("a late machine_end_beep or fax after the hold timed out gets the voicemail behaviour at once", async () => {
    const beep = await liveCall({ policy: amd({ holdGreetingMs: 1_000 }) });
    for (let i = 0; i < 52; i++) beep.steps.callerSends(silenceFrame);
    beep.steps.modelSendsAudio(2_000, "hello");
    beep.call.onAnsweredBy("machine_end_beep", 1_900);
    expect(beep.session().interrupts).toEqual([{ itemId: "hello", playedMs: 0 }]);
    expect(beep.session().said).toEqual([MESSAGE]);

    const fax = await liveCall({ policy: amd({ holdGreetingMs: 1_000 }) });
    for (let i = 0; i < 52; i++) fax.steps.callerSends(silenceFrame);
    fax.call.onAnsweredBy("fax", 1_900);
    await fax.call.ended;
    expect(fax.hangUps).toHaveLength(1);
    expect(fax.finished[0]?.metadata).toMatchObject({ end_reason: "voicemail_hangup", amd: { answered_by_local: "fax", revised_from: "timeout" } });
  });

  it("without a hold, greets at once and still leaves the message when Twilio calls a machine seconds later", async () => {
    const { call, steps, session } = await liveCall({ policy: amd({ holdGreetingMs: 0 }) });
    expect(session().greetings).toBe(1);
    for (let i = 0; i < 200; i++) steps.callerSends(silenceFrame);
    steps.modelSendsAudio(1_000, "hello");
    call.onAnsweredBy("machine_end_beep", 4_100);
    expect(session().said).toEqual([MESSAGE]);
  });

  it("a machine verdict during a transfer is logged as ignored, and the transfer goes on", async () => {
    const { call, steps, session, transfers, finished } = await liveCall({ policy: amd({ holdGreetingMs: 1_000 }) });
    for (let i = 0; i < 52; i++) steps.callerSends(silenceFrame);
    session().handlers.onToolCall("t9", "transfer_call", JSON.stringify({ target: "Billing", reason: "x" }));
    session().handlers.onResponseDone(null, "completed");
    call.onAnsweredBy("machine_end_beep", 1_900);
    expect(session().said).toEqual([]);
    expect(transfers).toHaveLength(1);
    await call.end("stream_stopped");
    expect(finished[0]?.metadata).toMatchObject({ amd: { answered_by_local: "machine", verdict_ignored: "transfer" } });
  });

  it("a late human after the hold timed out changes nothing: the conversation goes on", async () => {
    const { call, steps, session, finished } = await liveCall({ policy: amd({ holdGreetingMs: 1_000 }) });
    for (let i = 0; i < 52; i++) steps.callerSends(silenceFrame);
    call.onAnsweredBy("human", 1_900);
    const before = session().audioIn.length;
    steps.callerSends(silenceFrame);
    expect(session().audioIn).toHaveLength(before + 1);
    expect(session().said).toEqual([]);
    expect(session().interrupts).toEqual([]);
    await call.end("stream_stopped");
    expect(finished[0]?.metadata).toMatchObject({ amd: { answered_by_local: "unknown", decided_by: "timeout", twilio_disagrees: true } });
  });

  it("speaks the message when the audio could not be fetched", async () => {
    const { call, session } = await liveCall({ policy: amd({ audio: Promise.resolve(null) }) });
    call.onAnsweredBy("machine_end_beep", 7_000);
    await vi.waitFor(() => expect(session().said).toEqual([MESSAGE]));
  });
});

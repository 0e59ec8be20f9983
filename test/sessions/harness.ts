/** A CallSession wired to a recording provider session, a fake clock and a capturing Twilio sink. */
import { vi } from "vitest";
import { MULAW_8K } from "../../media/audioFormat.js";
import {
  ProviderError,
  type ProviderSessionConfig,
  type RealtimeProvider,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../../providers/types.js";
import { testSessionConfig } from "../providers/sessionConfig.js";
import {
  CallSession,
  type CallControl,
  type CallerVadFactory,
  type CallerVadHandlers,
  type CallFunctions,
  type CallOutcome,
  type CallPolicy,
} from "../../sessions/index.js";

export interface SetupOptions {
  aiSpeaksFirst?: boolean;
  connect?: "ok" | "fail";
  vad?: CallerVadFactory;
  policy?: CallPolicy;
  control?: CallControl;
  functions?: CallFunctions;
  config?: Partial<ProviderSessionConfig>;
}

/** A provider session that records what the call asked of it; tests drive its handlers. */
export class ScriptedSession implements RealtimeSession {
  readonly capabilities = { canTruncate: true, hasServerVad: true, needsLocalTurns: false, transcribesCaller: true };
  readonly inputFormat = MULAW_8K;
  readonly outputFormat = MULAW_8K;
  readonly audioIn: string[] = [];
  readonly interrupts: { itemId: string | null; playedMs: number }[] = [];
  readonly toolResults: { id: string; output: string }[] = [];
  readonly context: string[] = [];
  readonly said: string[] = [];
  readonly replyRequests: (string | null)[] = [];
  greetings = 0;
  closed = 0;
  constructor(readonly handlers: RealtimeSessionHandlers) {}
  appendAudio(b64: string): void {
    this.audioIn.push(b64);
  }
  startGreeting(): void {
    this.greetings++;
  }
  interrupt(itemId: string | null, playedMs: number): void {
    this.interrupts.push({ itemId, playedMs });
  }
  sendToolResult(id: string, output: string): void {
    this.toolResults.push({ id, output });
  }
  addContext(text: string): void {
    this.context.push(text);
  }
  say(text: string): void {
    this.said.push(text);
  }
  requestReply(instructions: string | null): void {
    this.replyRequests.push(instructions);
  }
  close(): void {
    this.closed++;
  }
}

/** A local VAD the test drives: records frames, and fires speech-start on demand. */
export function scriptedVad() {
  const frames: { first: number; endMs: number }[] = [];
  let handlers: CallerVadHandlers | null = null;
  const factory: CallerVadFactory = (h) => {
    handlers = h;
    return { push: (pcm, endMs) => frames.push({ first: pcm[0] ?? 0, endMs }), close: () => {} };
  };
  return { factory, frames, callerSpeechDetected: (atMs: number) => handlers!.onSpeechStart(atMs) };
}

export function setup(opts: SetupOptions = {}) {
  let now = 0;
  let callerTs = 32;
  let session: ScriptedSession | null = null;
  let resolveConnect!: () => void;
  const provider: RealtimeProvider = {
    name: "scripted",
    connect: (_config: ProviderSessionConfig, handlers: RealtimeSessionHandlers) =>
      new Promise<RealtimeSession>((resolve, reject) => {
        resolveConnect = () => {
          if (opts.connect === "fail") reject(new ProviderError("provider_connect_failed", "refused", false));
          else resolve((session = new ScriptedSession(handlers)));
        };
      }),
  };
  const sent: unknown[] = [];
  const closes: { code: number; reason: string }[] = [];
  const finished: CallOutcome[] = [];
  const log = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const call = new CallSession({
    callId: "call-1",
    callSid: "CA1",
    startedAt: new Date(0),
    startedAtMono: 0,
    provider,
    providerConfig: testSessionConfig({ callId: "call-1", instructions: "be nice", greeting: "hello", aiSpeaksFirst: opts.aiSpeaksFirst ?? true, ...opts.config }),
    callLogs: {
      markInProgress: async () => {},
      finish: async (_id, outcome) => {
        finished.push(outcome);
      },
    },
    clock: { now: () => now, wallNow: () => new Date(now) },
    log,
    vad: opts.vad,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.control ? { control: opts.control } : {}),
    ...(opts.functions ? { functions: opts.functions } : {}),
  });
  const sink = { send: (f: string) => sent.push(JSON.parse(f)), close: (code: number, reason: string) => closes.push({ code, reason }) };
  const steps = {
    providerConnects: async () => {
      resolveConnect();
      await Promise.resolve();
      await Promise.resolve();
    },
    twilioStarts: () => call.attachStream(sink, "MZ1"),
    callerSends: (payload: string, timestamp = (callerTs += 20)) =>
      call.onTwilioMessage({ event: "media", sequenceNumber: "2", streamSid: "MZ1", media: { track: "inbound", chunk: "1", timestamp: String(timestamp), payload } }),
    modelSendsAudio: (ms: number, itemId = "item1") => session!.handlers.onAudio(Buffer.alloc(ms * 8, 0xff).toString("base64"), itemId),
    callerPresses: (digit: string) => call.onTwilioMessage({ event: "dtmf", sequenceNumber: "4", streamSid: "MZ1", dtmf: { track: "inbound_track", digit } }),
    twilioEchoesMark: (name: string) => call.onTwilioMessage({ event: "mark", sequenceNumber: "3", streamSid: "MZ1", mark: { name } }),
    callerStartsSpeaking: () => session!.handlers.onSpeechStarted(),
    advance: (ms: number) => {
      now += ms;
    },
  };
  return { call, sent, closes, finished, log, steps, sink, session: () => session! };
}

/** The names of the marks sent to Twilio, in order. */
export const marks = (sent: unknown[]) =>
  (sent as { event: string; mark?: { name: string } }[]).filter((f) => f.event === "mark").map((f) => f.mark!.name);


import type { TranscriptRole } from "../providers/types.js";

/** One line of a call's transcript as stored in the call log. `at_ms` counts from the call's start. */
export interface TranscriptEntry {
  role: TranscriptRole;
  text: string;
  at_ms: number;
}

export type CallStatus = "completed" | "failed";

/** What a finished call leaves in its log. */
export interface CallOutcome {
  status: CallStatus;
  endedAt: Date;
  durationSeconds: number;
  transcript: TranscriptEntry[];
  metadata: Record<string, unknown>;
  /** Write only if the log still says ringing: the stream may have started on another instance. */
  onlyIfRinging?: boolean;
}

/** Where sessions/ persists call logs; src/ implements it over the store. */
export interface CallLogPort {
  markInProgress(callId: string, info: { streamSid: string }): Promise<void>;
  finish(callId: string, outcome: CallOutcome): Promise<void>;
}

/** The Twilio side of one media stream, as the session sees it. */
export interface TwilioSink {
  /** Send one text frame; dropped silently once the socket is closed. */
  send(frame: string): void;
  /** Close the socket; with nothing after `</Connect>` this hangs the call up. */
  close(code: number, reason: string): void;
}

/** Decisions of the local voice activity detector, in stream time. */
export interface CallerVadHandlers {
  onSpeechStart(atMs: number): void;
  onSpeechEnd(atMs: number): void;
}

/** Local VAD for one call's caller audio; src/ chooses the implementation (Silero batched, WebRTC). */
export interface CallerVad {
  /** One 20 ms frame of caller PCM16 at 8 kHz ending at stream time `frameEndMs`. Hot path: no awaits. */
  push(pcm: Int16Array, frameEndMs: number): void;
  close(): void;
}

export type CallerVadFactory = (handlers: CallerVadHandlers) => CallerVad;

export interface Clock {
  /** Monotonic milliseconds (performance.now()). */
  now(): number;
  /** Wall time, for stored timestamps only. */
  wallNow(): Date;
}

/** Structured logger the session writes to; pino's child loggers satisfy it. */
export interface SessionLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => new Date(),
};

/** Twilio call control the session needs beyond its media stream; src/ implements it over the REST API. */
export interface CallControl {
  /** Hang the call up (REST `status: completed`). Resolves when Twilio accepted it or the call was already over. */
  hangUp(): Promise<void>;
  /**
   * Move the caller to `target` with a `<Dial>` whose whisper URL briefs the person who answers. Twilio then
   * stops the media stream; that `stop` is part of the transfer, not a hang-up.
   */
  transfer(request: TransferRequest): Promise<void>;
}

export interface TransferTarget {
  readonly name: string;
  /** E.164. */
  readonly number: string;
  /** When the agent should pick this target; told to the model. */
  readonly reason: string | null;
}

export interface TransferRequest {
  readonly target: TransferTarget;
  /** Why the model asked for the transfer, in its words. */
  readonly reason: string;
  /** The conversation so far, for the whisper summary. */
  readonly transcript: readonly TranscriptEntry[];
}

/** One custom function call's outcome, as logged and as told to the model. */
export interface FunctionCallResult {
  readonly ok: boolean;
  /** JSON text handed to the model as the tool result (an `{error}` object when not ok). */
  readonly output: string;
  /** The webhook's HTTP status; null when no response came (refused, timeout, network). */
  readonly httpStatus: number | null;
  /** Why it failed, for the call log; null when ok. */
  readonly error: string | null;
}

/** The tenant's custom functions attached (and enabled) on this call's agent; src/ calls their webhooks. */
export interface CallFunctions {
  /** The function named `name` on this call, or undefined when the agent has none by that name. */
  lookup(name: string): { readonly speakDuringExecution: boolean } | undefined;
  /** Validates `argsJson` against the function's schema, then calls its webhook. Never rejects. */
  invoke(name: string, argsJson: string, signal: AbortSignal): Promise<FunctionCallResult>;
}

/** What the agent does when an answering machine picks up (`amd_voicemail_behavior`). */
export const VOICEMAIL_BEHAVIORS = ["hangup", "static_message", "dynamic_message", "agent_decides"] as const;
export type VoicemailBehavior = (typeof VOICEMAIL_BEHAVIORS)[number];

/** What the agent does on this call beyond talking: limits, answering machines, transfers. Built by src/. */
export interface CallPolicy {
  /** 0 = no limit. */
  readonly maxDurationMs: number;
  /** Caller and agent both silent this long: "are you still there?", then hang up. 0 = no limit. */
  readonly maxSilenceMs: number;
  /** Set on placed calls that asked Twilio for answering-machine detection. */
  readonly amd: AmdPolicy | null;
  readonly transferTargets: readonly TransferTarget[];
  /** The lines the agent speaks word for word. */
  readonly lines: CallLines;
}

export interface AmdPolicy {
  readonly behavior: VoicemailBehavior;
  /** The message to leave (variables already filled for dynamic_message); null with an audio URL or agent_decides. */
  readonly message: string | null;
  /** μ-law 8 kHz audio to play instead of speaking `message`; resolves null when it could not be fetched. */
  readonly audio: Promise<Buffer | null> | null;
  /** Hold the agent's greeting this long at most while AMD is pending; 0 = greet at once. */
  readonly holdGreetingMs: number;
}

export interface CallLines {
  readonly maxDuration: string;
  readonly stillThere: string;
  readonly silenceGoodbye: string;
}

/** Built-in tool names; custom functions may not use them. */
export const BUILTIN_TOOLS = ["end_call", "transfer_call"] as const;
export type BuiltinTool = (typeof BUILTIN_TOOLS)[number];

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

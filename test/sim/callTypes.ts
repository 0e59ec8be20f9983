/** The simulated call's public types: its options, its handle, and the result `done` resolves to. */
import type { ParsedTwiml } from "./twiml.js";

export type Signature = "valid" | "invalid" | "missing";

export interface PlaceCallOptions {
  /** Where requests really go (loopback http), like the upstream of a TLS-terminating proxy. */
  serverOrigin: string;
  /** Public voice-webhook URL Twilio would POST to; the signature is computed over it. */
  webhookUrl: string;
  authToken: string;
  /** Caller audio: path to a μ-law 8 kHz mono WAV, WAV bytes, or raw μ-law bytes. */
  fixture: string | Buffer;
  to: string;
  from?: string;
  accountSid?: string;
  callSid?: string;
  /** Extra webhook form fields (e.g. CallerName); they are signed like the rest. */
  extraParams?: Record<string, string>;
  webhookSignature?: Signature;
  streamSignature?: Signature;
  /** Call-time multiplier: 2 sends caller frames and plays agent audio twice as fast. */
  speed?: number;
  /** μ-law silence sent after the fixture, keeping the call up while the agent answers. */
  tailMs?: number;
  /** Caller hangs up this many ms of call audio after the stream starts. */
  hangupAfterMs?: number;
  timeoutMs?: number;
  /** Live view of the timeline, e.g. for the CLI. */
  onEvent?: (entry: TimelineEntry) => void;
}

export type TimelineKind =
  | "webhook" | "twiml" | "stream_open" | "stream_refused" | "connected" | "start" | "caller_audio"
  | "caller_audio_end" | "agent_audio" | "agent_audio_end" | "mark" | "clear" | "dtmf" | "inject"
  | "protocol_error" | "stop" | "close" | "timeout" | "warning";

/** One thing that happened; `atMs` is call time (wall ms × speed) since `placeCall`. */
export interface TimelineEntry {
  atMs: number;
  kind: TimelineKind;
  detail: string;
}

export type CallOutcome =
  | "completed" // the caller's audio ran out (or hangupAfterMs/hangup()) and the simulator sent stop
  | "server_closed" // the server closed the media socket first
  | "http_error" // the webhook answered non-2xx
  | "bad_twiml" // the webhook body is not usable TwiML
  | "no_stream" // TwiML without <Connect><Stream> (e.g. <Say>…<Hangup/>)
  | "stream_refused" // the WebSocket upgrade failed
  | "timeout";

export interface MarkRecord {
  name: string;
  receivedAtMs: number;
  echoedAtMs: number | null;
  /** Echoed by a `clear`, so the audio before it never played. */
  cleared: boolean;
}

export interface ClearRecord {
  atMs: number;
  /** Agent audio actually played since the previous clear (or stream start). */
  playedMs: number;
  droppedMs: number;
  flushedMarks: string[];
}

export interface ProtocolError {
  atMs: number;
  code: 31950 | 31951;
  detail: string;
}

export interface CallResult {
  outcome: CallOutcome;
  callSid: string;
  streamSid: string;
  accountSid: string;
  webhook: { status: number; body: string } | null;
  twiml: ParsedTwiml | null;
  /** Call time at which `start` was sent: sample 0 of both the fixture and `playedAudio`. */
  streamStartMs: number | null;
  durationMs: number;
  timeline: TimelineEntry[];
  /** What the caller heard: μ-law 8 kHz, one 20 ms frame per tick, silence where nothing played. */
  playedAudio: Buffer;
  marks: MarkRecord[];
  clears: ClearRecord[];
  playedMsAtClear: number[];
  protocolErrors: ProtocolError[];
  close: { code: number; reason: string; by: "server" | "simulator" } | null;
  counts: {
    callerFramesSent: number; callerMsSent: number; mediaReceived: number; agentMsReceived: number;
    agentMsHeard: number; marksReceived: number; marksEchoed: number; clears: number; dtmfSent: number;
    injected: number;
  };
  error: string | null;
}

export interface CallHandle {
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid: string;
  readonly done: Promise<CallResult>;
  /** Sends a frame verbatim (string → text frame, Buffer → binary frame) on the media socket. */
  injectRaw(data: string | Buffer): void;
  sendDtmf(digit: string): void;
  /** Caller hangs up now: `stop`, then close. */
  hangup(): void;
}

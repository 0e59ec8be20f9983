/**
 * One scripted conversation: each caller turn gets the script's next line, its audio paced in real time
 * on one timer. Also the controls a network provider's remote end would have (drop, error, tool calls).
 */
import { MULAW_8K, MULAW_BYTES_PER_MS } from "../../media/audioFormat.js";
import {
  ProviderError,
  type ProviderCapabilities,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { InputRecorder } from "./inputRecorder.js";
import { spokenTone } from "./spokenTone.js";
import type { Script, ScriptLine, ScriptReplyLine, ScriptUtterance } from "./script.js";
import { TOOL_RESULT_WAIT_MS, ToolResults } from "./toolResults.js";

export const SCRIPTED_CAPABILITIES: ProviderCapabilities = Object.freeze({
  canTruncate: false,
  hasServerVad: false,
  needsLocalTurns: true,
  transcribesCaller: true,
});

/** Audio leaves in chunks this long: a barge-in stops the reply within one chunk. */
export const REPLY_CHUNK_MS = 100;
/** Audio runs this far ahead of real time, so timer jitter never leaves a gap in the caller's playback. */
export const REPLY_LEAD_MS = 200;
/** Said when `requestReply` finds no reply line left in the script. */
export const GENERIC_REPLY_TEXT = "Is there anything else I can help you with?";
/** A scripted tool call waits this long for its result, then the line is spoken anyway (and an error noted). */
export const TOOL_RESULT_TIMEOUT_MS = 10_000;

const CHUNK_BYTES = REPLY_CHUNK_MS * MULAW_BYTES_PER_MS;

/** What a test or demo can do to a live session, standing in for a network provider's remote end. */
export interface ScriptedSessionControls {
  /** Caller μ-law received this far (the first two minutes at most). */
  inputAudio(): Buffer;
  /** Every `addContext` text received, in order: the script doesn't understand them, only keeps them. */
  contextReceived(): readonly string[];
  /** Every `say` text received, in order. */
  said(): readonly string[];
  /** Every `requestReply` received, in order: its instructions, or null when it had none. */
  replyRequests(): readonly (string | null)[];
  /** Ends the session like a network drop: a non-recoverable error, then `onClosed(clean: false)`. */
  drop(): void;
  /** A recoverable provider error with this message; the session goes on. */
  sendError(message: string): void;
  /** The "model" calls a tool now; returns the call id. */
  requestToolCall(name: string, args: Record<string, unknown> | string): string;
  /** Resolves with the output our server sent for that call id. */
  waitForToolResult(callId: string, timeoutMs?: number): Promise<string>;
}

export interface ScriptedSessionOptions {
  readonly toolResultTimeoutMs: number;
  /** Called once when the session is over, so the provider can forget it. */
  readonly onEnded: (session: ScriptedSession) => void;
}

interface Speaking {
  readonly kind: "speaking";
  readonly itemId: string;
  readonly utterance: ScriptUtterance;
  readonly startedAt: number;
  offset: number;
}

type Activity =
  | { readonly kind: "idle" }
  /** A caller turn took this line; it runs on the next timer tick, outside the caller's stack. */
  | { readonly kind: "lineQueued"; readonly line: ScriptLine }
  /** The greeting, or a tool line whose result came: spoken on the next timer tick. */
  | { readonly kind: "speechQueued"; readonly utterance: ScriptUtterance }
  | { readonly kind: "awaitingTool"; readonly callId: string; readonly line: ScriptReplyLine }
  | Speaking;

const IDLE: Activity = Object.freeze({ kind: "idle" });

const GENERIC_REPLY: ScriptUtterance = Object.freeze({ text: GENERIC_REPLY_TEXT, audio: spokenTone(GENERIC_REPLY_TEXT) });

/** Index the script continues from once its lines run out: its first reply line (failures rehearse once). */
function firstReplyIndex(lines: readonly ScriptLine[]): number {
  return lines.findIndex((line) => line.kind === "reply");
}

export class ScriptedSession implements RealtimeSession, ScriptedSessionControls {
  readonly capabilities = SCRIPTED_CAPABILITIES;
  readonly inputFormat = MULAW_8K;
  readonly outputFormat = MULAW_8K;

  readonly #script: Script;
  readonly #handlers: RealtimeSessionHandlers;
  readonly #options: ScriptedSessionOptions;
  readonly #input = new InputRecorder();
  readonly #toolResults = new ToolResults();
  /** Tool calls asked for through `requestToolCall` (not by a script line): answered with the next line. */
  readonly #rehearsedToolCalls = new Set<string>();
  readonly #context: string[] = [];
  readonly #said: string[] = [];
  readonly #replyRequests: (string | null)[] = [];
  /** Replies asked for (`say`, `requestReply`) while another was under way: each runs when the agent falls idle. */
  readonly #pending: Activity[] = [];
  readonly #cycleFrom: number;
  #closed = false;
  #activity: Activity = IDLE;
  /** The session's one timer: paces audio, runs a queued line, or times out a tool call. */
  #timer: NodeJS.Timeout | null = null;
  #nextLine = 0;
  #replies = 0;
  #toolCalls = 0;

  constructor(script: Script, handlers: RealtimeSessionHandlers, options: ScriptedSessionOptions) {
    this.#script = script;
    this.#handlers = handlers;
    this.#options = options;
    this.#cycleFrom = firstReplyIndex(script.lines);
  }

  appendAudio(payloadB64: string): void {
    if (!this.#closed) this.#input.append(payloadB64);
  }

  startGreeting(): void {
    if (!this.#closed) this.#queue({ kind: "speechQueued", utterance: this.#script.greeting });
  }

  /** The caller finished a turn: say the script's next line. */
  callerSpeechEnded(): void {
    // The agent is busy with a tool: this turn is heard but gets no line of its own.
    if (this.#closed || this.#activity.kind === "awaitingTool") return;
    this.#cancelReply();
    this.#answerNextLine();
  }

  #answerNextLine(): void {
    const line = this.#takeLine();
    if (line === null) return;
    const caller = line.kind === "reply" ? line.caller : null;
    if (caller !== null) this.#emit(() => this.#handlers.onTranscript("caller", caller, true));
    if (!this.#closed) this.#queue({ kind: "lineQueued", line });
  }

  /** Scripted audio can't be truncated: the current reply just stops, whichever item was heard. */
  interrupt(_itemId: string | null, _playedMs: number): void {
    if (this.#closed) return;
    this.#cancelReply();
    this.#runPending();
  }

  sendToolResult(callId: string, output: string): void {
    if (this.#closed) return;
    const known = this.#toolResults.deliver(callId, output);
    const activity = this.#activity;
    if (activity.kind === "awaitingTool" && activity.callId === callId) {
      this.#queue({ kind: "speechQueued", utterance: activity.line });
    } else if (this.#rehearsedToolCalls.delete(callId)) {
      // Like a model after a tool result: it speaks again (the script's next line) unless already talking.
      if (activity.kind === "idle") this.#answerNextLine();
    } else if (!known) {
      this.#report(new ProviderError("provider_error_event", `scripted voice: no tool call ${callId} is waiting for a result`, true));
    }
  }

  /** Speaks `text` with stand-in audio as long as the words would take. */
  say(text: string): void {
    if (this.#closed) return;
    this.#said.push(text);
    this.#whenIdle({ kind: "speechQueued", utterance: { text, audio: spokenTone(text) } });
  }

  /** The script doesn't read instructions: the "model" answers with its next line, or a generic one. */
  requestReply(instructions: string | null): void {
    if (this.#closed) return;
    this.#replyRequests.push(instructions);
    const line = this.#takeLine();
    this.#whenIdle(line === null ? { kind: "speechQueued", utterance: GENERIC_REPLY } : { kind: "lineQueued", line });
  }

  addContext(text: string): void {
    if (!this.#closed) this.#context.push(text);
  }

  close(): void {
    if (this.#closed) return;
    this.#shutdown("closed by Patchbay");
    this.#emit(() => this.#handlers.onClosed({ clean: true, reason: "closed by Patchbay" }));
  }

  inputAudio(): Buffer {
    return this.#input.audio();
  }

  contextReceived(): readonly string[] {
    return [...this.#context];
  }

  said(): readonly string[] {
    return [...this.#said];
  }

  replyRequests(): readonly (string | null)[] {
    return [...this.#replyRequests];
  }

  drop(): void {
    this.#disconnect("connection dropped");
  }

  sendError(message: string): void {
    if (!this.#closed) this.#report(new ProviderError("provider_error_event", `scripted voice error: ${message}`, true));
  }

  requestToolCall(name: string, args: Record<string, unknown> | string): string {
    if (this.#closed) throw new Error(`scripted session is closed: cannot call tool ${name}`);
    const callId = this.#issueToolCall();
    this.#rehearsedToolCalls.add(callId);
    const json = typeof args === "string" ? args : JSON.stringify(args);
    this.#emit(() => this.#handlers.onToolCall(callId, name, json));
    return callId;
  }

  waitForToolResult(callId: string, timeoutMs = TOOL_RESULT_WAIT_MS): Promise<string> {
    return this.#toolResults.wait(callId, timeoutMs);
  }

  #takeLine(): ScriptLine | null {
    const lines = this.#script.lines;
    if (this.#nextLine >= lines.length) {
      if (this.#cycleFrom < 0) return null;
      this.#nextLine = this.#cycleFrom;
    }
    return lines[this.#nextLine++] ?? null;
  }

  /** Runs `next` now if the agent is idle, else once the reply under way has ended. */
  #whenIdle(next: Activity): void {
    if (this.#activity.kind === "idle") this.#queue(next);
    else this.#pending.push(next);
  }

  #runPending(): void {
    if (this.#closed || this.#activity.kind !== "idle") return;
    const next = this.#pending.shift();
    if (next !== undefined) this.#queue(next);
  }

  #queue(next: Activity): void {
    this.#activity = next;
    this.#setTimer(0);
  }

  #setTimer(delayMs: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onTimer(), delayMs);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onTimer(): void {
    this.#timer = null;
    const activity = this.#activity;
    switch (activity.kind) {
      case "idle":
        break;
      case "lineQueued":
        this.#run(activity.line);
        break;
      case "speechQueued":
        this.#speak(activity.utterance);
        break;
      case "awaitingTool":
        this.#report(this.#toolTimeoutError(activity.callId));
        if (this.#activity === activity) this.#speak(activity.line);
        break;
      case "speaking":
        this.#pump(activity);
        break;
    }
  }

  #run(line: ScriptLine): void {
    switch (line.kind) {
      case "reply":
        if (line.toolCall === null) this.#speak(line);
        else this.#callTool(line, line.toolCall.name, line.toolCall.arguments);
        break;
      case "error":
        this.#activity = IDLE;
        this.#report(new ProviderError("provider_error_event", `scripted voice error: ${line.message}`, true));
        this.#runPending();
        break;
      case "disconnect":
        this.#disconnect(line.reason);
        break;
    }
  }

  /** Waits for the result before speaking; the timeout is armed first, since the result may come back inside onToolCall. */
  #callTool(line: ScriptReplyLine, name: string, args: string): void {
    const callId = this.#issueToolCall();
    this.#activity = { kind: "awaitingTool", callId, line };
    this.#setTimer(this.#options.toolResultTimeoutMs);
    this.#emit(() => this.#handlers.onToolCall(callId, name, args));
  }

  #toolTimeoutError(callId: string): ProviderError {
    const waited = this.#options.toolResultTimeoutMs;
    return new ProviderError("provider_error_event", `scripted tool call ${callId} got no result within ${waited} ms; speaking the line anyway`, true);
  }

  #issueToolCall(): string {
    const callId = `scripted-call-${++this.#toolCalls}`;
    this.#toolResults.issued(callId);
    return callId;
  }

  #speak(utterance: ScriptUtterance): void {
    const speaking: Speaking = {
      kind: "speaking",
      itemId: `scripted-${++this.#replies}`,
      utterance,
      startedAt: performance.now(),
      offset: 0,
    };
    this.#activity = speaking;
    this.#pump(speaking);
  }

  /** Sends every chunk that is due, then sleeps until the next one; stops if a handler interrupted or closed. */
  #pump(speaking: Speaking): void {
    const { audio, text } = speaking.utterance;
    const dueUntil = performance.now() - speaking.startedAt + REPLY_LEAD_MS;
    while (speaking.offset < audio.length && speaking.offset / MULAW_BYTES_PER_MS <= dueUntil) {
      const start = speaking.offset;
      speaking.offset = Math.min(start + CHUNK_BYTES, audio.length);
      this.#emit(() => this.#handlers.onAudio(audio.toString("base64", start, speaking.offset), speaking.itemId));
      if (this.#activity !== speaking) return;
      // The transcript follows the first chunk, so the call stamps the agent's turn at its audio.
      if (start === 0) this.#emit(() => this.#handlers.onTranscript("agent", text, true));
      if (this.#activity !== speaking) return;
    }
    if (speaking.offset < audio.length) {
      this.#setTimer(speaking.offset / MULAW_BYTES_PER_MS - REPLY_LEAD_MS - (performance.now() - speaking.startedAt));
      return;
    }
    this.#activity = IDLE;
    this.#emit(() => this.#handlers.onResponseDone(speaking.itemId, "completed"));
    this.#runPending();
  }

  #cancelReply(): void {
    const activity = this.#activity;
    const isReply = activity.kind === "speaking" || activity.kind === "speechQueued" ||
      (activity.kind === "lineQueued" && activity.line.kind === "reply");
    if (!isReply) return;
    this.#clearTimer();
    this.#activity = IDLE;
    if (activity.kind === "speaking") this.#emit(() => this.#handlers.onResponseDone(activity.itemId, "cancelled"));
  }

  /** Like a dropped socket: nothing more is sent, the call hears why, and the close is not clean. */
  #disconnect(reason: string): void {
    if (this.#closed) return;
    this.#shutdown(reason);
    this.#report(new ProviderError("provider_socket_closed", `scripted voice connection dropped: ${reason}`, false));
    this.#emit(() => this.#handlers.onClosed({ clean: false, reason }));
  }

  #shutdown(reason: string): void {
    this.#closed = true;
    this.#pending.length = 0;
    this.#activity = IDLE;
    this.#clearTimer();
    this.#toolResults.close(reason);
    this.#options.onEnded(this);
  }

  #report(error: ProviderError): void {
    this.#emit(() => this.#handlers.onError(error));
  }

  /** Handlers run on our timer: a throw must not escape into it and take the process down. */
  #emit(call: () => void): void {
    try {
      call();
    } catch (cause) {
      if (this.#closed) return;
      try {
        this.#handlers.onError(new ProviderError("provider_protocol_error", "a scripted voice event handler threw", true, { cause }));
      } catch {
        // Deliberately dropped: the error handler itself threw and there is nowhere left to report.
      }
    }
  }
}

/**
 * One Gemini Live conversation: caller audio out, typed callbacks in, and the connection swapped
 * underneath (goAway, dropped socket) by session resumption without the call noticing.
 */
import type {
  FunctionResponse,
  GoogleGenAI,
  LiveSendClientContentParameters,
  LiveServerContent,
  LiveServerMessage,
  LiveServerSessionResumptionUpdate,
  LiveServerToolCall,
} from "@google/genai";
import {
  ProviderError,
  type ProviderCapabilities,
  type ProviderCloseInfo,
  type ProviderSessionConfig,
  type RealtimeSession,
  type RealtimeSessionHandlers,
} from "../types.js";
import { verbatimInstruction } from "../verbatim.js";
import { ContentOutbox } from "./contentOutbox.js";
import { LiveConnection, type LiveConnectRequest, type LiveListener } from "./connection.js";
import type { LiveModelTraits } from "./modelTraits.js";
import {
  GEMINI_INPUT_FORMAT,
  GEMINI_OUTPUT_FORMAT,
  audioInputFrame,
  contextTurn,
  functionResponse,
  greetingTurn,
  replyTurn,
  isResumableClose,
  liveConnectConfig,
} from "./wire.js";

export const GEMINI_CAPABILITIES: ProviderCapabilities = Object.freeze({
  canTruncate: false,
  hasServerVad: true,
  needsLocalTurns: false,
  transcribesCaller: true,
});

/** After our close frame, how long the server gets to answer before we stop waiting for it. */
export const CLOSE_GRACE_MS = 2_000;
/** Caller audio held while no socket is up (a resume in flight): 2 s of 20 ms frames, oldest dropped. */
export const RESUME_HOLD_FRAMES = 100;
/** Resumes in a row without a finished turn between them: past this the server is failing us, not the network. */
export const MAX_RESUMES_WITHOUT_PROGRESS = 3;

type SessionState = "opening" | "live" | "closing" | "closed";

/** What ends an agent turn: the server's `turnComplete`, the caller barging in, or a resume replacing its connection. */
type TurnEnd = "turnComplete" | "interrupted" | "resumed";

export interface GeminiSessionOptions {
  readonly client: GoogleGenAI;
  readonly model: string;
  readonly traits: LiveModelTraits;
  readonly config: ProviderSessionConfig;
  readonly handlers: RealtimeSessionHandlers;
  readonly connectTimeoutMs: number;
}

function closeDetail(code: number, reason: string): string {
  return reason === "" ? `code ${code}` : `code ${code}: ${reason}`;
}

export class GeminiLiveSession implements RealtimeSession, LiveListener {
  readonly capabilities = GEMINI_CAPABILITIES;
  readonly inputFormat = GEMINI_INPUT_FORMAT;
  readonly outputFormat = GEMINI_OUTPUT_FORMAT;

  readonly #options: GeminiSessionOptions;
  readonly #handlers: RealtimeSessionHandlers;
  #state: SessionState = "opening";
  /** The socket messages are taken from and audio goes to; null while a resume replaces a dropped one. */
  #current: LiveConnection | null = null;
  #resuming = false;
  /** Aborts an in-flight resume when the call ends. */
  readonly #resumeAbort = new AbortController();
  /** The newest resumable handle the server issued. */
  #handle: string | null = null;
  #resumesWithoutProgress = 0;
  readonly #heldAudio: string[] = [];
  readonly #heldToolResponses: FunctionResponse[] = [];
  readonly #content = new ContentOutbox();
  /** Per agent turn: `turn-N`, opened by its first audio or text, closed by turnComplete or a resume. */
  #turnCount = 0;
  #turnId: string | null = null;
  /** The current turn was interrupted: its late audio is dropped until its turnComplete. */
  #dropTurn = false;
  /** An `interrupted` closed the turn early; its own `turnComplete` may still come and is ignored. */
  #interruptedTurnOpen = false;
  /** This caller turn already raised onSpeechStarted (by `interrupted` or its first transcribed words). */
  #callerTurnSignalled = false;
  #callerText = "";
  #agentText = "";
  /** Function names by call id: Live's tool response must name the function again. */
  readonly #toolNames = new Map<string, string>();
  #closeTimer: NodeJS.Timeout | null = null;

  constructor(options: GeminiSessionOptions) {
    this.#options = options;
    this.#handlers = options.handlers;
  }

  /** Opens the first connection; rejects with a ProviderError (nothing is left open). */
  async start(signal: AbortSignal): Promise<void> {
    const first = await LiveConnection.open(this.#request(signal, null), this);
    this.#current = first;
    this.#state = "live";
    first.release();
  }

  appendAudio(payloadB64: string): void {
    if (this.#state !== "live") return;
    const current = this.#current;
    if (current !== null) current.sendFrame(audioInputFrame(payloadB64));
    else this.#holdAudio(payloadB64);
  }

  startGreeting(): void {
    if (this.#state === "live") this.#current?.sendClientContent(greetingTurn(this.#options.config.greeting));
  }

  /** Live has no cancel or truncate: the server stops on its own VAD; we only drop the rest of the turn. */
  interrupt(itemId: string | null): void {
    if (this.#turnId !== null && (itemId === null || itemId === this.#turnId)) this.#dropTurn = true;
  }

  sendToolResult(callId: string, output: string): void {
    if (this.#state !== "live") return;
    const name = this.#toolNames.get(callId);
    if (name === undefined) {
      this.#report(new ProviderError("provider_protocol_error", `no Gemini tool call with id ${callId} is waiting for a result`, true));
      return;
    }
    this.#toolNames.delete(callId);
    const response = functionResponse(callId, name, output);
    const current = this.#current;
    if (current !== null) current.sendToolResponse({ functionResponses: [response] });
    else this.#heldToolResponses.push(response);
  }

  say(text: string): void {
    this.#reply(replyTurn(verbatimInstruction(text)));
  }

  requestReply(instructions: string | null): void {
    this.#reply(replyTurn(instructions));
  }

  addContext(text: string): void {
    if (this.#state === "live") this.#content.send(contextTurn(text), this.#current);
  }

  close(): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#state = "closing";
    this.#resumeAbort.abort();
    const current = this.#current;
    if (current === null || !current.isOpen) {
      this.#finish({ clean: true, reason: "closed by Patchbay" });
      return;
    }
    current.close();
    // A server that never answers our close frame must not hold the call open.
    this.#closeTimer = setTimeout(() => this.#finish({ clean: true, reason: "close not acknowledged" }), CLOSE_GRACE_MS);
    this.#closeTimer.unref();
  }

  #reply(turn: LiveSendClientContentParameters): void {
    if (this.#state === "live") this.#content.reply(turn, this.#turnId !== null, this.#current);
  }

  onLiveMessage(message: LiveServerMessage, from: LiveConnection): void {
    if (from !== this.#current || this.#state !== "live") return;
    try {
      if (message.serverContent !== undefined) this.#onContent(message.serverContent);
      if (message.toolCall !== undefined) this.#onToolCall(message.toolCall);
      if (message.sessionResumptionUpdate !== undefined) this.#onResumptionUpdate(message.sessionResumptionUpdate);
      if (message.goAway !== undefined) this.#resume(`goAway (time left ${message.goAway.timeLeft ?? "unknown"})`);
    } catch (cause) {
      // A throwing handler must not escape into the socket's emitter and take the process down.
      this.#report(new ProviderError("provider_protocol_error", "handling a Gemini server message failed", true, { cause }));
    }
  }

  onLiveClose(code: number, reason: string, from: LiveConnection): void {
    if (from !== this.#current) return;
    this.#current = null;
    if (this.#state === "closing") {
      this.#finish({ clean: true, code, reason });
      return;
    }
    // A goAway resume in flight takes over; until then caller audio is held.
    if (this.#state !== "live" || this.#resuming) return;
    const detail = closeDetail(code, reason);
    if (this.#handle === null || !isResumableClose(code)) {
      this.#fail(new ProviderError("provider_socket_closed", `Gemini Live socket closed (${detail})`, false), code, reason);
      return;
    }
    this.#report(new ProviderError("provider_socket_closed", `Gemini Live socket closed (${detail}); resuming the session`, true));
    this.#resume(`socket closed (${detail})`);
  }

  #onContent(content: LiveServerContent): void {
    const heard = content.inputTranscription?.text;
    if (heard) this.#onCallerText(heard);
    const parts = content.modelTurn?.parts;
    if (parts !== undefined) {
      for (const part of parts) {
        const audio = part.inlineData?.data;
        if (audio) this.#onModelAudio(audio);
      }
    }
    const said = content.outputTranscription?.text;
    if (said) this.#onAgentText(said);
    if (content.interrupted === true) this.#onInterrupted();
    if (content.turnComplete === true) this.#onTurnComplete();
  }

  #onModelAudio(payloadB64: string): void {
    if (this.#dropTurn) return;
    this.#handlers.onAudio(payloadB64, this.#openTurn());
  }

  #onAgentText(fragment: string): void {
    if (this.#dropTurn) return;
    this.#openTurn();
    this.#agentText += fragment;
    this.#handlers.onTranscript("agent", fragment, false);
  }

  /** The model answering ends the caller's turn, so the caller's words are final here. */
  #openTurn(): string {
    if (this.#turnId !== null) return this.#turnId;
    this.#turnCount += 1;
    this.#turnId = `turn-${this.#turnCount}`;
    this.#interruptedTurnOpen = false;
    this.#flushCallerText();
    return this.#turnId;
  }

  /**
   * Gemini signals caller speech only by `interrupted`, and only while it is still generating; a reply
   * generated faster than real time may still be playing. The caller's first words of a turn stand in.
   */
  #onCallerText(fragment: string): void {
    this.#callerText += fragment;
    // While the model is still generating, its own `interrupted` decides (a backchannel may not be one).
    if (this.#callerTurnSignalled || this.#turnId !== null) return;
    this.#callerTurnSignalled = true;
    this.#handlers.onSpeechStarted();
  }

  /**
   * The caller barged in and the server stopped generating: close the turn now, so a missing
   * `turnComplete` can't leave the next reply muted. What was said so far is the agent's line.
   */
  #onInterrupted(): void {
    this.#closeTurn("interrupted");
  }

  #onTurnComplete(): void {
    // The interrupted turn's own turnComplete: already closed, and the caller is still talking.
    if (this.#turnId === null && this.#interruptedTurnOpen) {
      this.#interruptedTurnOpen = false;
      return;
    }
    // After an interruption the caller is still talking: their words stay open until the model answers.
    if (!this.#dropTurn) this.#flushCallerText();
    this.#closeTurn("turnComplete");
  }

  /**
   * Closes the agent's turn, in one order whatever ended it: what it said so far becomes its final line,
   * an interruption signals the caller's turn, `onResponseDone` reports it (cancelled unless it completed
   * unmuted), then a reply queued behind it may go out.
   */
  #closeTurn(end: TurnEnd): void {
    this.#flushAgentText();
    const itemId = this.#turnId;
    const status = end === "turnComplete" && !this.#dropTurn ? "completed" : "cancelled";
    this.#turnId = null;
    this.#dropTurn = false;
    if (end === "turnComplete") this.#resumesWithoutProgress = 0;
    if (end === "interrupted") {
      this.#interruptedTurnOpen = itemId !== null;
      if (!this.#callerTurnSignalled) {
        this.#callerTurnSignalled = true;
        this.#handlers.onSpeechStarted();
      }
    }
    // Only a turnComplete reports a turn that never opened (a model turn that was only a tool call).
    if (itemId !== null || end === "turnComplete") this.#handlers.onResponseDone(itemId, status);
    this.#content.turnEnded(this.#current);
  }

  #onToolCall(toolCall: LiveServerToolCall): void {
    for (const call of toolCall.functionCalls ?? []) {
      const id = call.id ?? "";
      const name = call.name ?? "";
      this.#toolNames.set(id, name);
      this.#handlers.onToolCall(id, name, JSON.stringify(call.args ?? {}));
    }
  }

  /** Handles come with `resumable: false` (and no handle) mid-generation; keep the last good one. */
  #onResumptionUpdate(update: LiveServerSessionResumptionUpdate): void {
    if (update.resumable === true && update.newHandle) this.#handle = update.newHandle;
  }

  #flushCallerText(): void {
    const text = this.#callerText.trim();
    this.#callerText = "";
    this.#callerTurnSignalled = false;
    if (text !== "") this.#handlers.onTranscript("caller", text, true);
  }

  #flushAgentText(): void {
    const text = this.#agentText.trim();
    this.#agentText = "";
    if (text !== "") this.#handlers.onTranscript("agent", text, true);
  }

  #holdAudio(payloadB64: string): void {
    if (this.#heldAudio.length >= RESUME_HOLD_FRAMES) this.#heldAudio.shift();
    this.#heldAudio.push(payloadB64);
  }

  /** Opens a connection on the newest handle; the current one (if still up) serves until it lands. */
  #resume(reason: string): void {
    if (this.#state !== "live" || this.#resuming) return;
    const handle = this.#handle;
    if (handle === null) {
      this.#cannotResume(`Gemini Live needs a new connection (${reason}) but issued no resumption handle`);
      return;
    }
    this.#resumesWithoutProgress += 1;
    if (this.#resumesWithoutProgress > MAX_RESUMES_WITHOUT_PROGRESS) {
      this.#cannotResume(`Gemini Live needed ${MAX_RESUMES_WITHOUT_PROGRESS} resumes without finishing a turn (${reason})`);
      return;
    }
    this.#resuming = true;
    LiveConnection.open(this.#request(this.#resumeAbort.signal, handle), this).then(
      (next) => this.#swapIn(next, reason),
      (error: unknown) => this.#resumeFailed(error),
    );
  }

  #swapIn(next: LiveConnection, reason: string): void {
    this.#resuming = false;
    if (this.#state !== "live") {
      next.close();
      return;
    }
    const previous = this.#current;
    this.#current = next;
    // Its close event is ignored from here on: it is no longer current.
    previous?.close();
    for (const payload of this.#heldAudio) next.sendFrame(audioInputFrame(payload));
    this.#heldAudio.length = 0;
    if (this.#heldToolResponses.length > 0) next.sendToolResponse({ functionResponses: this.#heldToolResponses.splice(0) });
    this.#content.flushHeld(next);
    // After what was held: a reply queued behind the lost turn goes out last.
    this.#endTurnWithConnection();
    next.release();
    try {
      this.#handlers.onResumed(reason);
    } catch (cause) {
      this.#report(new ProviderError("provider_protocol_error", "onResumed handler failed", true, { cause }));
    }
  }

  /** The reply in progress lived on the old connection; the resumed one will not finish it. */
  #endTurnWithConnection(): void {
    if (this.#turnId !== null) this.#closeTurn("resumed");
  }

  #resumeFailed(error: unknown): void {
    this.#resuming = false;
    if (this.#state !== "live") return;
    const message = error instanceof Error ? error.message : String(error);
    this.#cannotResume(`Gemini Live could not resume the session: ${message}`, error);
  }

  /** After a goAway the old socket still serves: carry on, and try again when it closes. Otherwise the call is over. */
  #cannotResume(message: string, cause?: unknown): void {
    if (this.#current?.isOpen === true) {
      this.#report(new ProviderError("provider_socket_closed", message, true, { cause }));
      return;
    }
    this.#fail(new ProviderError("provider_socket_closed", message, false, { cause }));
  }

  #request(signal: AbortSignal, handle: string | null): LiveConnectRequest {
    const { client, model, traits, config, connectTimeoutMs } = this.#options;
    return { client, model, config: liveConnectConfig(config, traits, handle), timeoutMs: connectTimeoutMs, signal };
  }

  #fail(error: ProviderError, code?: number, reason?: string): void {
    this.#report(error);
    this.#current?.close();
    this.#current = null;
    this.#finish({ clean: false, code, reason: reason ?? error.message });
  }

  #finish(info: ProviderCloseInfo): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    if (this.#closeTimer !== null) clearTimeout(this.#closeTimer);
    this.#closeTimer = null;
    this.#resumeAbort.abort();
    this.#heldAudio.length = 0;
    try {
      this.#handlers.onClosed(info);
    } catch {
      // Deliberately dropped: the session is over and a throw here would escape into the socket's emitter.
    }
  }

  /** Reports to the caller; if its own error handler throws there is nowhere left to send it. */
  #report(error: ProviderError): void {
    try {
      this.#handlers.onError(error);
    } catch {
      // Deliberately dropped: rethrowing here would surface inside the socket's emitter.
    }
  }
}

/**
 * One client socket on the fake Gemini Live server: `setup` first (answered with `setupComplete`), then
 * realtime audio through a crude VAD that drives caller turns, interruptions and scripted replies.
 * Like the real service it reports errors by closing the socket with a code and reason.
 */
import type { RawData, WebSocket } from "ws";
import type {
  FunctionResponse,
  LiveClientContent,
  LiveClientMessage,
  LiveClientSetup,
} from "@google/genai";
import { LiveReply, type FakeLiveReplyScript, type LiveReplyWire } from "./liveReply.js";
import type { ChunkPacing } from "../pacing.js";
import { verbatimText } from "../../../providers/verbatim.js";
import { spokenReply } from "../spokenReply.js";
import { PcmEnergyVad, type PcmVadOptions } from "./pcmEnergyVad.js";
import type { LiveServerFrame } from "./serverMessage.js";

/** What every socket shares with the server: recordings, scripts, handles and settings. */
export interface FakeLiveState {
  readonly vad: PcmVadOptions;
  readonly pacing: ChunkPacing;
  /** Never answer `setup` (a stalled service): the SDK's connect then never settles. */
  readonly withholdSetupComplete: boolean;
  readonly keyValid: boolean;
  /** Issue a resumption handle right after `setupComplete`, not only after turns. */
  readonly handleOnSetup: boolean;
  /** Leave out the `turnComplete` after `interrupted`, as some live sessions have been seen to. */
  readonly omitTurnCompleteOnInterrupt: boolean;
  record(message: LiveClientMessage): void;
  recordAudio(pcm16k: Buffer): void;
  recordToolResponse(response: FunctionResponse): void;
  /** A complete client turn: its text (the instructions the model answers), or null when it had none. */
  recordReplyRequest(instructions: string | null): void;
  nextReply(): FakeLiveReplyScript;
  nextCallerText(): string;
  issueHandle(): string;
  knowsHandle(handle: string): boolean;
}

export const INPUT_MIME = "audio/pcm;rate=16000";
const INPUT_RATE = 16_000;

/** The close codes and reasons the service uses (RFC 6455 1007: invalid payload, 1011: server error). */
export const CLOSE_INVALID_ARGUMENT = 1007;
export const CLOSE_INTERNAL_ERROR = 1011;
export const INVALID_KEY_REASON = "API key not valid. Please pass a valid API key.";
export const INVALID_ARGUMENT_REASON = "Request contains an invalid argument.";

const CLIENT_MESSAGE_KEYS: ReadonlySet<string> = new Set<keyof LiveClientMessage>([
  "setup", "clientContent", "realtimeInput", "toolResponse", "contextUpdate",
]);

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

/** One known top-level field per message, as the service requires; anything else is null. */
function parseClientMessage(data: RawData): LiveClientMessage | null {
  try {
    const value: unknown = JSON.parse(rawText(data));
    if (typeof value !== "object" || value === null) return null;
    const keys = Object.keys(value);
    return keys.length === 1 && CLIENT_MESSAGE_KEYS.has(keys[0] ?? "") ? value : null;
  } catch {
    return null;
  }
}

export class FakeLiveSocket {
  readonly #ws: WebSocket;
  readonly #state: FakeLiveState;
  readonly #vad: PcmEnergyVad;
  readonly #replyWire: LiveReplyWire;
  #setup: LiveClientSetup | null = null;
  #reply: LiveReply | null = null;
  #nextCallId = 0;
  #goAwayTimer: NodeJS.Timeout | null = null;

  constructor(ws: WebSocket, state: FakeLiveState) {
    this.#ws = ws;
    this.#state = state;
    this.#vad = new PcmEnergyVad(INPUT_RATE, state.vad, {
      speechStarted: () => this.#callerStarted(),
      speechStopped: () => this.#callerStopped(),
    });
    this.#replyWire = {
      send: (message) => this.send(message),
      finished: (reply) => this.#replyFinished(reply),
    };
    ws.on("message", (data) => this.#onMessage(data));
    ws.on("close", () => this.#shutdown());
    ws.on("error", () => this.#shutdown());
  }

  get isOpen(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  get setup(): LiveClientSetup | null {
    return this.#setup;
  }

  send(message: LiveServerFrame): void {
    if (this.isOpen) this.#ws.send(JSON.stringify(message));
  }

  /** Gemini's only error report: the socket closes with a code and a reason. */
  closeWithError(code: number, reason: string): void {
    this.#shutdown();
    if (this.isOpen) this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#shutdown();
    this.#ws.terminate();
  }

  /** The connection nears its limit: `goAway`, then the close once the time is up. */
  goAway(timeLeftMs: number): void {
    this.send({ goAway: { timeLeft: `${timeLeftMs / 1000}s` } });
    this.#goAwayTimer = setTimeout(() => this.closeWithError(1000, "connection time limit reached"), timeLeftMs);
  }

  /** The model calls a function; returns the call id. */
  requestToolCall(name: string, args: Record<string, unknown>): string {
    this.#nextCallId += 1;
    const id = `function-call-${process.pid}-${this.#nextCallId}-${Math.random().toString(36).slice(2, 10)}`;
    this.send({ toolCall: { functionCalls: [{ id, name, args }] } });
    return id;
  }

  #onMessage(data: RawData): void {
    const message = parseClientMessage(data);
    if (message === null) {
      this.closeWithError(CLOSE_INVALID_ARGUMENT, INVALID_ARGUMENT_REASON);
      return;
    }
    this.#state.record(message);
    if (this.#setup === null) {
      this.#onSetup(message);
      return;
    }
    if (message.realtimeInput !== undefined) this.#onAudio(message.realtimeInput.audio);
    else if (message.clientContent !== undefined) this.#onClientContent(message.clientContent);
    else if (message.toolResponse !== undefined) this.#onToolResponse(message.toolResponse.functionResponses ?? []);
    else if (message.setup !== undefined) this.closeWithError(CLOSE_INVALID_ARGUMENT, INVALID_ARGUMENT_REASON);
  }

  #onSetup(message: LiveClientMessage): void {
    const setup = message.setup;
    if (setup === undefined || typeof setup.model !== "string" || !setup.model.startsWith("models/")) {
      this.closeWithError(CLOSE_INVALID_ARGUMENT, INVALID_ARGUMENT_REASON);
      return;
    }
    if (!this.#state.keyValid) {
      this.closeWithError(CLOSE_INVALID_ARGUMENT, INVALID_KEY_REASON);
      return;
    }
    const handle = setup.sessionResumption?.handle;
    if (handle !== undefined && !this.#state.knowsHandle(handle)) {
      this.closeWithError(CLOSE_INVALID_ARGUMENT, "Invalid session resumption handle.");
      return;
    }
    this.#setup = setup;
    if (this.#state.withholdSetupComplete) return;
    this.send({ setupComplete: {} });
    if (this.#state.handleOnSetup) this.#offerHandle();
  }

  #onAudio(audio: { data?: string; mimeType?: string } | undefined): void {
    if (audio?.data === undefined) return;
    if (audio.mimeType !== INPUT_MIME) {
      this.closeWithError(CLOSE_INVALID_ARGUMENT, INVALID_ARGUMENT_REASON);
      return;
    }
    const pcm = Buffer.from(audio.data, "base64");
    this.#state.recordAudio(pcm);
    if (this.#setup?.realtimeInputConfig?.automaticActivityDetection?.disabled !== true) this.#vad.push(pcm);
  }

  /**
   * A complete client turn (the greeting, `say`, `requestReply`) makes the model answer, like a caller's
   * turn does; a verbatim request is answered with exactly the quoted words.
   */
  #onClientContent(content: LiveClientContent): void {
    if (content.turnComplete !== true) return;
    const texts = (content.turns ?? []).flatMap((turn) => (turn.parts ?? []).map((part) => part.text ?? ""));
    const instructions = texts.length > 0 ? texts.join("\n") : null;
    this.#state.recordReplyRequest(instructions);
    const verbatim = verbatimText(instructions);
    this.#speak(verbatim === null ? this.#state.nextReply() : spokenReply(verbatim));
  }

  #onToolResponse(responses: FunctionResponse[]): void {
    for (const response of responses) this.#state.recordToolResponse(response);
    // The model goes on talking once it has the result (unless it is still mid-reply).
    if (this.#reply === null) this.#speak();
  }

  #callerStarted(): void {
    this.#reply?.interrupt(!this.#state.omitTurnCompleteOnInterrupt);
  }

  #callerStopped(): void {
    const words = this.#state.nextCallerText().split(/\s+/).filter((w) => w !== "");
    for (const [i, word] of words.entries()) {
      this.send({ serverContent: { inputTranscription: { text: i === 0 ? word : ` ${word}` } } });
    }
    if (this.#reply === null) this.#speak();
  }

  /** Live cuts off the turn in progress when a new one starts, as on client content. */
  #speak(script: FakeLiveReplyScript = this.#state.nextReply()): void {
    this.#reply?.interrupt(!this.#state.omitTurnCompleteOnInterrupt);
    const reply = new LiveReply(this.#replyWire);
    this.#reply = reply;
    reply.speak(script, this.#state.pacing);
  }

  #replyFinished(reply: LiveReply): void {
    if (this.#reply === reply) this.#reply = null;
    this.#offerHandle();
  }

  /** A fresh handle after setup and after every turn, when the client asked for resumption. */
  #offerHandle(): void {
    if (this.#setup?.sessionResumption === undefined) return;
    this.send({ sessionResumptionUpdate: { newHandle: this.#state.issueHandle(), resumable: true } });
  }

  #shutdown(): void {
    if (this.#goAwayTimer !== null) clearTimeout(this.#goAwayTimer);
    this.#goAwayTimer = null;
    this.#reply?.abandon();
    this.#reply = null;
  }
}

/**
 * A Twilio call simulator for tests and `npm run sim`: POSTs the signed voice webhook, follows the
 * TwiML into a Media Streams WebSocket and speaks the protocol as Twilio does (PROTOCOLS.md §1):
 * paced 20 ms μ-law frames with string-typed counters, real-time playout of the server's audio,
 * marks echoed once the audio before them has played, `clear` flushing the queue and its marks.
 * This file is the call itself; the TwiML reader is `twiml.ts`, the playout buffer `twilioPlayer.ts`,
 * the public types `callTypes.ts` (all re-exported here).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import twilio from "twilio";
import WebSocket from "ws";
import { FRAME_BYTES, FRAME_MS, MULAW_BYTES_PER_MS, MULAW_SILENCE } from "../../media/audioFormat.js";
import type {
  TwilioConnectedMessage,
  TwilioDtmfMessage,
  TwilioMarkMessage,
  TwilioMediaMessage,
  TwilioStartMessage,
  TwilioStopMessage,
} from "../../media/twilioWire.js";
import { readWav } from "../../media/wav.js";
import type { CallHandle, CallOutcome, CallResult, ClearRecord, MarkRecord, PlaceCallOptions, Signature, TimelineKind } from "./callTypes.js";
import { TwilioPlayer } from "./twilioPlayer.js";
import { parseTwiml, type ParsedTwiml } from "./twiml.js";

export type {
  CallHandle, CallOutcome, CallResult, ClearRecord, MarkRecord, PlaceCallOptions, ProtocolError, Signature, TimelineEntry, TimelineKind,
} from "./callTypes.js";
export { parseTwiml, type ParsedTwiml, type TwimlVerb } from "./twiml.js";

/** Twilio gives up on a call that long by default; every simulated call ends before it. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** Enough silence after the fixture for an agent to answer the last thing the caller said. */
const DEFAULT_TAIL_MS = 4_000;
/** How long to wait for the server's close handshake after `stop` before dropping the socket. */
const CLOSE_GRACE_MS = 2_000;
/** Real captures start media timestamps near this, not at 0 (PROTOCOLS.md §1). */
const FIRST_MEDIA_TIMESTAMP = 52;

export function newSid(prefix: "CA" | "MZ" | "AC"): string {
  return prefix + randomBytes(16).toString("hex");
}

/** Loads caller audio as raw μ-law 8 kHz mono bytes. */
export function loadMulaw(fixture: string | Buffer): Buffer {
  const bytes = typeof fixture === "string" ? readFileSync(fixture) : fixture;
  if (bytes.toString("latin1", 0, 4) !== "RIFF") return bytes;
  const wav = readWav(bytes);
  if (wav.format !== "mulaw" || wav.sampleRate !== 8000 || wav.channels !== 1) {
    throw new Error(`fixture must be μ-law 8 kHz mono, got ${wav.format} ${wav.sampleRate} Hz × ${wav.channels}`);
  }
  return wav.data;
}

// ── The call ────────────────────────────────────────────────────────────────────────────────────
function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]" || hostname === "::1";
}

function signatureFor(kind: Signature, authToken: string, url: string, params: Record<string, string>): Record<string, string> {
  if (kind === "missing") return {};
  const valid = twilio.getExpectedTwilioSignature(authToken, url, params);
  // Same shape as a real signature, wrong HMAC.
  const wrong = twilio.getExpectedTwilioSignature(`${authToken}-wrong`, url, params);
  return { "X-Twilio-Signature": kind === "valid" ? valid : wrong };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function hasExactKeys(v: Record<string, unknown>, keys: readonly string[]): boolean {
  const actual = Object.keys(v);
  return actual.length === keys.length && keys.every((k) => k in v);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

class SimulatedCall implements CallHandle {
  readonly callSid: string;
  readonly streamSid = newSid("MZ");
  readonly accountSid: string;
  readonly done: Promise<CallResult>;
  #opts: PlaceCallOptions;
  #speed: number;
  #placedAt = performance.now();
  #resolve!: (r: CallResult) => void;
  #result: CallResult;
  #caller: Buffer;
  #endFrame: number;
  #ws: WebSocket | null = null;
  #streamStartWall = 0;
  #frame = 0;
  #sequence = 0;
  #player = new TwilioPlayer();
  #agentTalking = false;
  #tickTimer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout;
  #finished = false;
  #stopping = false;
  #abort = new AbortController();

  constructor(opts: PlaceCallOptions) {
    const origin = new URL(opts.serverOrigin);
    if (origin.protocol !== "http:" || !isLoopback(origin.hostname)) {
      throw new Error(`serverOrigin must be a loopback http origin such as http://127.0.0.1:8080, got ${opts.serverOrigin}`);
    }
    this.#opts = opts;
    this.#speed = opts.speed ?? 1;
    if (!(this.#speed > 0)) throw new Error(`speed must be > 0, got ${opts.speed}`);
    this.#caller = loadMulaw(opts.fixture);
    const frames = Math.ceil(this.#caller.length / FRAME_BYTES) + Math.ceil((opts.tailMs ?? DEFAULT_TAIL_MS) / FRAME_MS);
    this.#endFrame = opts.hangupAfterMs === undefined ? frames : Math.min(frames, Math.round(opts.hangupAfterMs / FRAME_MS));
    this.callSid = opts.callSid ?? newSid("CA");
    this.accountSid = opts.accountSid ?? newSid("AC");
    this.#result = {
      outcome: "timeout", callSid: this.callSid, streamSid: this.streamSid, accountSid: this.accountSid,
      webhook: null, twiml: null, streamStartMs: null, durationMs: 0, timeline: [], playedAudio: Buffer.alloc(0),
      marks: [], clears: [], playedMsAtClear: [], protocolErrors: [], close: null, error: null,
      counts: { callerFramesSent: 0, callerMsSent: 0, mediaReceived: 0, agentMsReceived: 0, agentMsHeard: 0,
        marksReceived: 0, marksEchoed: 0, clears: 0, dtmfSent: 0, injected: 0 },
    };
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#deadline = setTimeout(() => {
      this.#note("timeout", `no end after ${timeoutMs} ms`);
      this.#finish("timeout", `call did not end within ${timeoutMs} ms`);
    }, timeoutMs);
  }

  injectRaw(data: string | Buffer): void {
    this.#requireOpen().send(data, { binary: typeof data !== "string" });
    this.#result.counts.injected++;
    this.#note("inject", typeof data === "string" ? data.slice(0, 80) : `${data.length} binary bytes`);
  }

  sendDtmf(digit: string): void {
    const ws = this.#requireOpen();
    const msg: TwilioDtmfMessage = { event: "dtmf", sequenceNumber: this.#nextSeq(), streamSid: this.streamSid, dtmf: { track: "inbound_track", digit } };
    ws.send(JSON.stringify(msg));
    this.#result.counts.dtmfSent++;
    this.#note("dtmf", digit);
  }

  hangup(): void {
    this.#endFrame = Math.min(this.#endFrame, this.#frame);
    if (this.#ws === null) this.#finish("completed", null);
  }

  async run(): Promise<void> {
    try {
      const twiml = await this.#postWebhook();
      if (twiml?.stream !== undefined) this.#openStream(twiml.stream.url, twiml.stream.parameters);
    } catch (err) {
      // Only the webhook POST can throw here (connection refused, reset): the server is unreachable.
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
      this.#finish("http_error", `voice webhook POST failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    }
  }

  #now(): number {
    return Math.round((performance.now() - this.#placedAt) * this.#speed * 10) / 10;
  }

  #note(kind: TimelineKind, detail: string): void {
    if (this.#finished) return; // the result has been handed over; late socket events don't rewrite it
    const entry = { atMs: this.#now(), kind, detail };
    this.#result.timeline.push(entry);
    this.#opts.onEvent?.(entry);
  }

  #nextSeq(): string {
    return String(++this.#sequence);
  }

  #requireOpen(): WebSocket {
    if (this.#ws?.readyState !== WebSocket.OPEN) throw new Error("no media stream is open on this call");
    return this.#ws;
  }

  async #postWebhook(): Promise<ParsedTwiml | null> {
    const o = this.#opts;
    const params: Record<string, string> = {
      CallSid: this.callSid, AccountSid: this.accountSid, From: o.from ?? "+15555550100", To: o.to,
      Caller: o.from ?? "+15555550100", Called: o.to, CallStatus: "ringing", Direction: "inbound",
      ApiVersion: "2010-04-01", ...o.extraParams,
    };
    const publicUrl = new URL(o.webhookUrl);
    const res = await fetch(new URL(publicUrl.pathname + publicUrl.search, o.serverOrigin), {
      method: "POST",
      body: new URLSearchParams(params).toString(),
      signal: this.#abort.signal,
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-Proto": publicUrl.protocol.slice(0, -1),
        "X-Forwarded-Host": publicUrl.host,
        "I-Twilio-Idempotency-Token": randomBytes(16).toString("hex"),
        ...signatureFor(o.webhookSignature ?? "valid", o.authToken, o.webhookUrl, params),
      },
    });
    const body = await res.text();
    this.#result.webhook = { status: res.status, body };
    this.#note("webhook", `POST ${publicUrl.pathname} → ${res.status}`);
    if (!res.ok) {
      this.#finish("http_error", `voice webhook answered ${res.status}: ${body.slice(0, 200)}`);
      return null;
    }
    let twiml: ParsedTwiml;
    try {
      twiml = parseTwiml(body.trim());
    } catch (err) {
      this.#finish("bad_twiml", `voice webhook body is not TwiML: ${(err as Error).message}`);
      return null;
    }
    this.#result.twiml = twiml;
    this.#note("twiml", twiml.verbs.map((v) => v.verb).join(", ") || "(empty)");
    if (twiml.stream === undefined) {
      const said = twiml.says.map((s) => `Say "${s}"`).join(", ");
      this.#finish("no_stream", `TwiML has no <Connect><Stream>${said ? `: ${said}` : ""}${twiml.hangup ? ", then hangs up" : ""}`);
      return null;
    }
    return twiml;
  }

  #openStream(url: string, parameters: Record<string, string>): void {
    const target = new URL(url);
    if (target.protocol !== "wss:") {
      this.#finish("stream_refused", `31923: <Stream url> must be wss://, got ${url}`);
      return;
    }
    if (target.search !== "") this.#note("warning", `Twilio drops the query string of <Stream url>: ${target.search}`);
    target.search = "";
    const signed = target.toString();
    const origin = new URL(this.#opts.serverOrigin);
    const ws = new WebSocket(`ws://${origin.host}${target.pathname}`, {
      headers: { ...signatureFor(this.#opts.streamSignature ?? "valid", this.#opts.authToken, signed, {}), "X-Forwarded-Proto": "https", "X-Forwarded-Host": target.host },
    });
    this.#ws = ws;
    ws.on("unexpected-response", (_req, res) => {
      this.#note("stream_refused", `upgrade answered ${res.statusCode ?? "?"}`);
      res.resume();
      ws.terminate();
      this.#finish("stream_refused", `media WebSocket upgrade refused with HTTP ${res.statusCode ?? "?"}`);
    });
    ws.on("error", (err) => this.#finish(this.#result.streamStartMs === null ? "stream_refused" : "server_closed", err.message));
    ws.on("open", () => this.#startStream(ws, signed, parameters));
    ws.on("message", (data, isBinary) => this.#onServerFrame(data, isBinary));
    ws.on("close", (code, reason) => {
      const by = this.#stopping ? "simulator" : "server";
      this.#result.close ??= { code, reason: reason.toString(), by };
      this.#note("close", `${code}${reason.length > 0 ? ` ${reason.toString()}` : ""} (by ${by})`);
      this.#finish(this.#stopping ? "completed" : "server_closed", null);
    });
  }

  #startStream(ws: WebSocket, url: string, customParameters: Record<string, string>): void {
    this.#note("stream_open", url);
    const connected: TwilioConnectedMessage = { event: "connected", protocol: "Call", version: "1.0.0" };
    ws.send(JSON.stringify(connected));
    this.#note("connected", "protocol Call 1.0.0");
    const start: TwilioStartMessage = {
      event: "start", sequenceNumber: this.#nextSeq(), streamSid: this.streamSid,
      start: { streamSid: this.streamSid, accountSid: this.accountSid, callSid: this.callSid, tracks: ["inbound"],
        customParameters, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } },
    };
    ws.send(JSON.stringify(start));
    this.#streamStartWall = performance.now();
    this.#result.streamStartMs = this.#now();
    this.#note("start", `stream ${this.streamSid}`);
    this.#tick();
  }

  /** Drift-free pacing: frame k is due at start + k × 20 ms / speed; late frames catch up. */
  #tick(): void {
    const frameWallMs = FRAME_MS / this.#speed;
    while (!this.#finished && !this.#stopping && this.#streamStartWall + this.#frame * frameWallMs <= performance.now()) {
      if (this.#frame >= this.#endFrame) {
        this.#stop();
        return;
      }
      // Play first: a mark due now is echoed before the caller frame that shares its tick.
      this.#playTick();
      this.#sendCallerFrame();
      this.#frame++;
    }
    if (this.#finished || this.#stopping) return;
    const wait = this.#streamStartWall + this.#frame * frameWallMs - performance.now();
    this.#tickTimer = setTimeout(() => this.#tick(), Math.max(0, wait));
  }

  #sendCallerFrame(): void {
    const frame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE);
    const offset = this.#frame * FRAME_BYTES;
    if (offset < this.#caller.length) this.#caller.copy(frame, 0, offset, offset + FRAME_BYTES);
    const msg: TwilioMediaMessage = {
      event: "media", sequenceNumber: this.#nextSeq(), streamSid: this.streamSid,
      media: { track: "inbound", chunk: String(this.#frame + 1), timestamp: String(FIRST_MEDIA_TIMESTAMP + this.#frame * FRAME_MS), payload: frame.toString("base64") },
    };
    this.#ws?.send(JSON.stringify(msg));
    this.#result.counts.callerFramesSent++;
    if (this.#frame === 0) this.#note("caller_audio", "first caller frame sent");
    if (offset < this.#caller.length && offset + FRAME_BYTES >= this.#caller.length) this.#note("caller_audio_end", "fixture sent; tail silence follows");
  }

  #playTick(): void {
    const { due, played } = this.#player.tick();
    for (const mark of due) this.#echoMark(mark, false);
    this.#result.counts.agentMsHeard += played / MULAW_BYTES_PER_MS;
    if (played > 0 && !this.#agentTalking) this.#note("agent_audio", "agent audio heard");
    if (played === 0 && this.#agentTalking) this.#note("agent_audio_end", "agent audio stopped");
    this.#agentTalking = played > 0;
  }

  #echoMark(record: MarkRecord, cleared: boolean): void {
    const msg: TwilioMarkMessage = { event: "mark", sequenceNumber: this.#nextSeq(), streamSid: this.streamSid, mark: { name: record.name } };
    this.#ws?.send(JSON.stringify(msg));
    record.echoedAtMs = this.#now();
    record.cleared = cleared;
    this.#result.counts.marksEchoed++;
    this.#note("mark", `${record.name}${cleared ? " (cleared)" : ""}`);
  }

  #stop(): void {
    this.#stopping = true;
    const msg: TwilioStopMessage = { event: "stop", sequenceNumber: this.#nextSeq(), streamSid: this.streamSid, stop: { accountSid: this.accountSid, callSid: this.callSid } };
    this.#ws?.send(JSON.stringify(msg));
    this.#note("stop", "caller hung up");
    this.#ws?.close(1000);
    const ws = this.#ws;
    setTimeout(() => ws?.terminate(), CLOSE_GRACE_MS).unref();
  }

  #protocolError(code: 31950 | 31951, detail: string): void {
    this.#result.protocolErrors.push({ atMs: this.#now(), code, detail });
    this.#note("protocol_error", `${code} ${detail}`);
  }

  #onServerFrame(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.#finished) return;
    if (isBinary) return this.#protocolError(31950, "binary frame (Twilio only decodes JSON text frames)");
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString("utf8");
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.#protocolError(31951, `not JSON: ${text.slice(0, 60)}`);
    }
    if (!isRecord(msg)) return this.#protocolError(31951, "message is not a JSON object");
    if (msg.streamSid !== this.streamSid) return this.#protocolError(31951, `wrong or missing streamSid ${JSON.stringify(msg.streamSid)}`);
    const { event } = msg;
    if (event === "media" && hasExactKeys(msg, ["event", "streamSid", "media"]) && isRecord(msg.media) && hasExactKeys(msg.media, ["payload"])
      && typeof msg.media.payload === "string" && BASE64.test(msg.media.payload)) {
      const audio = Buffer.from(msg.media.payload, "base64");
      this.#player.enqueue(audio);
      this.#result.counts.mediaReceived++;
      this.#result.counts.agentMsReceived += audio.length / MULAW_BYTES_PER_MS;
    } else if (event === "mark" && hasExactKeys(msg, ["event", "streamSid", "mark"]) && isRecord(msg.mark) && hasExactKeys(msg.mark, ["name"]) && typeof msg.mark.name === "string") {
      const record: MarkRecord = { name: msg.mark.name, receivedAtMs: this.#now(), echoedAtMs: null, cleared: false };
      this.#result.marks.push(record);
      this.#result.counts.marksReceived++;
      if (this.#player.mark(record)) this.#echoMark(record, false);
    } else if (event === "clear" && hasExactKeys(msg, ["event", "streamSid"])) {
      const { playedBytes, droppedBytes, flushed } = this.#player.clear();
      const clear: ClearRecord = { atMs: this.#now(), playedMs: playedBytes / MULAW_BYTES_PER_MS, droppedMs: droppedBytes / MULAW_BYTES_PER_MS, flushedMarks: flushed.map((m) => m.name) };
      this.#result.clears.push(clear);
      this.#result.playedMsAtClear.push(clear.playedMs);
      this.#result.counts.clears++;
      this.#note("clear", `played ${Math.round(clear.playedMs)} ms, dropped ${Math.round(clear.droppedMs)} ms, flushed ${flushed.length} mark(s)`);
      for (const mark of flushed) this.#echoMark(mark, true);
    } else {
      this.#protocolError(31951, `unknown event or wrong fields: ${text.slice(0, 80)}`);
    }
  }

  #finish(outcome: CallOutcome, error: string | null): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#tickTimer);
    clearTimeout(this.#deadline);
    this.#abort.abort();
    if (this.#ws !== null && this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
    const r = this.#result;
    r.outcome = outcome;
    r.error ??= error;
    r.durationMs = this.#now();
    r.playedAudio = Buffer.from(this.#player.recording);
    r.counts.callerMsSent = r.counts.callerFramesSent * FRAME_MS;
    this.#resolve(r);
  }
}

/** Places one simulated inbound call; the handle's `done` always resolves, never rejects. */
export function placeCall(opts: PlaceCallOptions): CallHandle {
  const call = new SimulatedCall(opts);
  void call.run();
  return call;
}

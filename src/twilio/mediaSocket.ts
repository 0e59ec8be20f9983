import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { customParameter, emptyFaultCounts, parseTwilioFrame, type FrameFault } from "../../media/twilioStream.js";
import type { TwilioInboundMessage } from "../../media/twilioWire.js";
import type { CallSession, TwilioSink } from "../../sessions/index.js";
import type { CallFactory } from "../calls/callFactory.js";
import type { Logger } from "../log.js";
import type { SessionTokens } from "../sessionToken.js";
import { checkTwilioSignature, mediaStreamUrl } from "./signature.js";

/** Twilio sends `start` right after `connected`; a socket that hasn't by then is not a call. */
export const START_TIMEOUT_MS = 10_000;
/** Frames held while a session is looked up in the store (resume path): 2 s of audio. */
const PENDING_FRAMES_MAX = 100;
/** `/media`, or `/media/<tenant id>` when the stream was opened for a tenant (its token signs the upgrade). */
const MEDIA_PATH = /^\/media(?:\/([0-9a-fA-F-]{36}))?$/;
/** Twilio frames are small; anything this big is not a media-stream frame. */
const MAX_FRAME_BYTES = 64 * 1024;

export interface MediaSocketDeps {
  /** The auth token Twilio signs this tenant's requests with (its own account, else the environment's). */
  authTokenFor(tenantId: string | undefined): Promise<string | undefined>;
  publicUrl: string;
  tokens: SessionTokens | undefined;
  calls: CallFactory;
  log: Logger;
}

export interface MediaSocketServer {
  /** Process-wide count of skipped frames by fault, for /health. */
  readonly faults: Record<FrameFault, number>;
  close(): Promise<void>;
}

/** ws hands text frames over as a Buffer (or fragments / an ArrayBuffer in other modes). */
function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  return Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8");
}

/** Answer a refused upgrade and drop the socket; a peer that never closes must not hold it open. */
function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
}

/** The `/media` WebSocket on the same HTTP server: signature checked on the upgrade, token on `start`. */
export function attachMediaSocket(server: Server, deps: MediaSocketDeps): MediaSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  const signedUrl = mediaStreamUrl(deps.publicUrl);
  const faults = emptyFaultCounts();

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node drops its own error listener once a socket reaches "upgrade": without one, a peer resetting
    // the connection would be an uncaught ECONNRESET that takes the whole process (every call) down.
    socket.on("error", () => socket.destroy());
    const path = (req.url ?? "").split("?")[0] ?? "";
    const route = MEDIA_PATH.exec(path);
    if (route === null) {
      reject(socket, 404, "Not Found");
      return;
    }
    const tenantId = route[1];
    // Twilio signs the wss:// URL it opened, with no params.
    const signed = signedUrl + (req.url ?? "").slice("/media".length);
    deps.authTokenFor(tenantId).then(
      (authToken) => {
        if (socket.destroyed) return;
        const check = checkTwilioSignature(authToken, req.headers["x-twilio-signature"], signed, {});
        if (!check.ok) {
          deps.log.warn({ reason: check.reason, remote: req.socket.remoteAddress }, "media upgrade refused: bad Twilio signature");
          reject(socket, 403, "Forbidden");
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => new MediaConnection(ws, deps, faults, tenantId?.toLowerCase()));
      },
      (err: unknown) => {
        deps.log.error({ err, tenantId }, "media upgrade refused: could not load the tenant's Twilio credentials");
        if (!socket.destroyed) reject(socket, 503, "Service Unavailable");
      },
    );
  });

  return {
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** One Twilio media stream: waits for `start`, finds the call's session, then feeds it every frame. */
class MediaConnection {
  readonly #ws: WebSocket;
  readonly #deps: MediaSocketDeps;
  readonly #faults: Record<FrameFault, number>;
  readonly #sink: TwilioSink;
  #session: CallSession | null = null;
  #pending: TwilioInboundMessage[] | null = null;
  #startTimer: NodeJS.Timeout | null;

  /** The tenant whose auth token signed the upgrade, when the stream URL named one. */
  readonly #signedFor: string | undefined;

  constructor(ws: WebSocket, deps: MediaSocketDeps, faults: Record<FrameFault, number>, signedFor: string | undefined) {
    this.#signedFor = signedFor;
    this.#ws = ws;
    this.#deps = deps;
    this.#faults = faults;
    this.#sink = {
      send: (frame) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame);
      },
      close: (code, reason) => {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason.slice(0, 120));
      },
    };
    this.#startTimer = setTimeout(() => this.#refuse("no start event"), START_TIMEOUT_MS);
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on("close", (code, reason) => this.#onClose(code, reason.toString()));
    ws.on("error", (err) => deps.log.warn({ err }, "media socket error"));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#fault("binary_frame", "binary frame");
      return;
    }
    const parsed = parseTwilioFrame(rawText(data));
    if (!parsed.ok) {
      this.#fault(parsed.fault, parsed.detail);
      return;
    }
    const msg = parsed.message;
    if (this.#session !== null) {
      this.#dispatch(this.#session, msg);
      return;
    }
    if (this.#pending !== null) {
      if (this.#pending.length < PENDING_FRAMES_MAX) this.#pending.push(msg);
      return;
    }
    if (msg.event === "start") void this.#onStart(msg);
  }

  /** A bug in session code ends this call with its log, never the process with every call in it. */
  #dispatch(session: CallSession, msg: TwilioInboundMessage): void {
    try {
      session.onTwilioMessage(msg);
    } catch (err) {
      this.#deps.log.error({ err, callId: session.callId, event: msg.event }, "session failed on a Twilio frame; ending the call");
      void session.end("internal_error", err instanceof Error ? err.message : String(err));
    }
  }

  #fault(fault: FrameFault, detail: string): void {
    this.#faults[fault]++;
    if (this.#session !== null) this.#session.onFrameFault(fault, detail);
    else this.#deps.log.warn({ fault, detail }, "skipped bad frame before start");
  }

  async #onStart(msg: Extract<TwilioInboundMessage, { event: "start" }>): Promise<void> {
    if (this.#startTimer) clearTimeout(this.#startTimer);
    this.#startTimer = null;
    const token = customParameter(msg, "token");
    const check = token && this.#deps.tokens ? this.#deps.tokens.verify(token, msg.start.callSid) : null;
    if (check === null || !check.ok) {
      this.#refuse(`session token ${check === null ? "missing" : check.reason}`);
      return;
    }
    // One tenant's signed upgrade must not carry another tenant's call.
    if (this.#signedFor !== undefined && this.#signedFor !== check.tenantId.toLowerCase()) {
      this.#refuse("session token is for another tenant than the stream URL");
      return;
    }
    this.#pending = [];
    let session: CallSession | null = null;
    try {
      session = await this.#deps.calls.resume(check.tenantId, check.callId);
    } catch (err) {
      this.#deps.log.error({ err, callId: check.callId }, "could not load the call for a media stream");
    }
    if (session === null) {
      this.#refuse("no live call for this stream");
      return;
    }
    this.#session = session;
    session.attachStream(this.#sink, msg.streamSid);
    const pending = this.#pending;
    this.#pending = null;
    for (const m of pending) this.#dispatch(session, m);
    if (this.#ws.readyState !== WebSocket.OPEN) session.onStreamClosed(1006, "closed during start", this.#sink);
  }

  #refuse(why: string): void {
    this.#deps.log.warn({ why }, "media stream refused");
    this.#sink.close(1008, why);
  }

  #onClose(code: number, reason: string): void {
    if (this.#startTimer) clearTimeout(this.#startTimer);
    this.#session?.onStreamClosed(code, reason, this.#sink);
  }
}

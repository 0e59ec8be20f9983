import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { FRAME_BYTES } from "../../media/audioFormat.js";
import { linearToMulaw } from "../../media/g711.js";
import type { TwilioInboundMessage } from "../../media/twilioWire.js";
import { parseTwiml, placeCall, type PlaceCallOptions } from "./twilioSimulator.js";

const AUTH_TOKEN = "test-auth-token";
const PUBLIC = "https://example.test";
const WEBHOOK_URL = `${PUBLIC}/webhooks/twilio/t1/voice`;
const STREAM_TWIML =
  '<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://example.test/media">' +
  '<Parameter name="tenant" value="t1"/><Parameter name="note" value="a &amp; b"/></Stream></Connect></Response>';

/** μ-law tone of `ms` milliseconds: distinguishable from silence in recordings. */
function tone(ms: number, hz = 440): Buffer {
  const out = Buffer.alloc(ms * 8);
  for (let i = 0; i < out.length; i++) out[i] = linearToMulaw(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 8000)));
  return out;
}

interface StreamContext {
  ws: WebSocket;
  received: TwilioInboundMessage[];
  raw: string[];
  /** Resolves with the first received message matching `event` (optionally the nth). */
  next<E extends TwilioInboundMessage["event"]>(event: E, nth?: number): Promise<Extract<TwilioInboundMessage, { event: E }>>;
  sendAudio(audio: Buffer, streamSid: string): void;
}

interface FakeServer {
  origin: string;
  webhookParams: Record<string, string>[];
  webhookSignatureValid: boolean[];
  upgradeSignatureValid: boolean[];
  streams: StreamContext[];
  close(): Promise<void>;
}

interface FakeServerOptions {
  twiml?: string;
  status?: number;
  onStream?: (ctx: StreamContext) => void | Promise<void>;
}

/** A tiny stand-in for Patchbay: checks Twilio signatures like a real server would, scripted per test. */
async function startFakeServer(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const fake: FakeServer = { origin: "", webhookParams: [], webhookSignatureValid: [], upgradeSignatureValid: [], streams: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const valid = twilio.validateRequest(AUTH_TOKEN, header(req, "x-twilio-signature"), PUBLIC + (req.url ?? ""), params);
      fake.webhookParams.push(params);
      fake.webhookSignatureValid.push(valid);
      if (!valid) return void res.writeHead(403).end("bad signature");
      res.writeHead(opts.status ?? 200, { "Content-Type": "text/xml" }).end(opts.twiml ?? STREAM_TWIML);
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const valid = twilio.validateRequest(AUTH_TOKEN, header(req, "x-twilio-signature"), `wss://example.test${req.url ?? ""}`, {});
    fake.upgradeSignatureValid.push(valid);
    if (!valid) return void socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const ctx = streamContext(ws);
      fake.streams.push(ctx);
      void opts.onStream?.(ctx);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  };
  return fake;
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return typeof value === "string" ? value : "";
}

function streamContext(ws: WebSocket): StreamContext {
  const received: TwilioInboundMessage[] = [];
  const raw: string[] = [];
  const waiters: (() => void)[] = [];
  ws.on("message", (data: Buffer) => {
    raw.push(data.toString());
    received.push(JSON.parse(data.toString()) as TwilioInboundMessage);
    for (const w of waiters.splice(0)) w();
  });
  return {
    ws,
    received,
    raw,
    next: <E extends TwilioInboundMessage["event"]>(event: E, nth = 1) =>
      new Promise<Extract<TwilioInboundMessage, { event: E }>>((resolve) => {
        const check = (): void => {
          const found = received.filter((m): m is Extract<TwilioInboundMessage, { event: E }> => m.event === event)[nth - 1];
          if (found !== undefined) resolve(found);
          else waiters.push(check);
        };
        check();
      }),
    sendAudio: (audio, streamSid) => {
      // Uneven chunk sizes on purpose: Twilio accepts any size and plays it contiguously.
      for (let i = 0; i < audio.length; i += 333) {
        ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: audio.subarray(i, i + 333).toString("base64") } }));
      }
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function call(server: FakeServer, extra: Partial<PlaceCallOptions> = {}): ReturnType<typeof placeCall> {
  return placeCall({ serverOrigin: server.origin, webhookUrl: WEBHOOK_URL, authToken: AUTH_TOKEN, to: "+15550001111", from: "+15550002222", fixture: tone(1000), tailMs: 0, timeoutMs: 15_000, ...extra });
}

describe("twilio simulator: caller side", () => {
  it("signs the webhook and the upgrade, and speaks the protocol with string-typed fields at real-time pace", async () => {
    fake = await startFakeServer();
    const result = await call(fake).done;
    expect(result.outcome).toBe("completed");
    expect(fake.webhookSignatureValid).toEqual([true]);
    expect(fake.upgradeSignatureValid).toEqual([true]);
    expect(fake.webhookParams[0]).toMatchObject({ CallSid: result.callSid, AccountSid: result.accountSid, From: "+15550002222", To: "+15550001111", CallStatus: "ringing", Direction: "inbound", ApiVersion: "2010-04-01" });
    expect(result.callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(result.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);

    const msgs = fake.streams[0]?.received ?? [];
    expect(msgs[0]).toEqual({ event: "connected", protocol: "Call", version: "1.0.0" });
    expect(msgs[1]).toEqual({
      event: "start", sequenceNumber: "1", streamSid: result.streamSid,
      start: { streamSid: result.streamSid, accountSid: result.accountSid, callSid: result.callSid, tracks: ["inbound"],
        customParameters: { tenant: "t1", note: "a & b" }, mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 } },
    });
    const media = msgs.filter((m) => m.event === "media");
    expect(media).toHaveLength(50);
    media.forEach((m, i) => {
      expect(m.sequenceNumber).toBe(String(i + 2));
      expect(m.media).toMatchObject({ track: "inbound", chunk: String(i + 1), timestamp: String(52 + 20 * i) });
      expect(Buffer.from(m.media.payload, "base64")).toHaveLength(FRAME_BYTES);
    });
    expect(msgs.at(-1)).toEqual({ event: "stop", sequenceNumber: "52", streamSid: result.streamSid, stop: { accountSid: result.accountSid, callSid: result.callSid } });

    // 50 frames at 20 ms: the stream lasts about a second (generous lower bound, no upper pass/fail timing).
    const start = result.timeline.find((e) => e.kind === "start")?.atMs ?? 0;
    const stop = result.timeline.find((e) => e.kind === "stop")?.atMs ?? 0;
    expect(stop - start).toBeGreaterThanOrEqual(950);
    expect(result.counts.callerMsSent).toBe(1000);
    expect(result.close).toMatchObject({ code: 1000, by: "simulator" });
  });

  it("runs `speed` times faster on request", async () => {
    fake = await startFakeServer();
    const t0 = performance.now();
    const result = await call(fake, { speed: 5 }).done;
    expect(result.outcome).toBe("completed");
    expect(performance.now() - t0).toBeLessThan(900);
    expect(fake.streams[0]?.received.filter((m) => m.event === "media")).toHaveLength(50);
  });

  it("keeps the call up with silence for tailMs, and hangs up early with hangupAfterMs", async () => {
    fake = await startFakeServer();
    const tailed = await call(fake, { tailMs: 200, speed: 4 }).done;
    expect(tailed.counts.callerFramesSent).toBe(60);
    const last = fake.streams[0]?.received.filter((m) => m.event === "media").at(-1);
    expect(last?.event === "media" && Buffer.from(last.media.payload, "base64").every((b) => b === 0xff)).toBe(true);
    const early = await call(fake, { hangupAfterMs: 300, speed: 4 }).done;
    expect(early.counts.callerFramesSent).toBe(15);
    expect(fake.streams[1]?.received.at(-1)?.event).toBe("stop");
  });

  it("sends DTMF and raw frames mid-call", async () => {
    fake = await startFakeServer();
    const handle = call(fake, { speed: 2 });
    await sleep(150);
    handle.sendDtmf("5");
    handle.injectRaw('{"event":"weird","x":1}');
    await handle.done;
    const msgs = fake.streams[0]?.received ?? [];
    expect(msgs.find((m) => m.event === "dtmf")).toMatchObject({ streamSid: handle.streamSid, dtmf: { track: "inbound_track", digit: "5" } });
    expect(fake.streams[0]?.raw).toContain('{"event":"weird","x":1}');
  });
});

describe("twilio simulator: playout side", () => {
  it("echoes a mark at once when nothing is queued, otherwise only after the audio before it played", async () => {
    let echoGapMs = 0;
    fake = await startFakeServer({
      onStream: async (ctx) => {
        const { streamSid } = await ctx.next("start");
        ctx.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "empty" } }));
        await ctx.next("mark");
        ctx.sendAudio(tone(500, 300), streamSid);
        const sentAt = performance.now();
        ctx.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "after-500ms" } }));
        await ctx.next("mark", 2);
        echoGapMs = performance.now() - sentAt;
      },
    });
    const result = await call(fake, { tailMs: 500 }).done;
    const [empty, after] = result.marks;
    expect(empty).toMatchObject({ name: "empty", cleared: false });
    expect((empty?.echoedAtMs ?? Infinity) - (empty?.receivedAtMs ?? 0)).toBeLessThan(50);
    expect(after).toMatchObject({ name: "after-500ms", cleared: false });
    expect((after?.echoedAtMs ?? 0) - (after?.receivedAtMs ?? 0)).toBeGreaterThanOrEqual(480);
    expect(echoGapMs).toBeGreaterThanOrEqual(450);
    expect(echoGapMs).toBeLessThan(1500);
    expect(result.counts).toMatchObject({ marksReceived: 2, marksEchoed: 2, agentMsReceived: 500, agentMsHeard: 500 });
  });

  it("records what played on the call's timeline, aligned with the caller audio", async () => {
    const agent = tone(400, 600);
    fake = await startFakeServer({
      onStream: async (ctx) => {
        const { streamSid } = await ctx.next("start");
        await ctx.next("media", 10); // ~200 ms into the call
        ctx.sendAudio(agent, streamSid);
      },
    });
    const result = await call(fake, { tailMs: 500 }).done;
    expect(result.playedAudio).toHaveLength(75 * FRAME_BYTES); // 1 s fixture + 0.5 s tail
    const at = result.playedAudio.indexOf(agent);
    expect(at).toBeGreaterThanOrEqual(150 * 8);
    expect(at).toBeLessThan(600 * 8);
    expect(result.playedAudio.subarray(0, at).every((b) => b === 0xff)).toBe(true);
    expect(result.timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(["agent_audio", "agent_audio_end"]));
  });

  it("clear drops queued audio and echoes every pending mark at once", async () => {
    fake = await startFakeServer({
      onStream: async (ctx) => {
        const { streamSid } = await ctx.next("start");
        ctx.sendAudio(tone(2000), streamSid);
        ctx.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "g1:a" } }));
        ctx.sendAudio(tone(1000), streamSid);
        ctx.ws.send(JSON.stringify({ event: "mark", streamSid, mark: { name: "g1:b" } }));
        await sleep(500);
        ctx.ws.send(JSON.stringify({ event: "clear", streamSid }));
      },
    });
    const result = await call(fake, { tailMs: 800 }).done;
    expect(result.clears).toHaveLength(1);
    const [clear] = result.clears;
    expect(clear?.flushedMarks).toEqual(["g1:a", "g1:b"]);
    expect(clear?.playedMs).toBeGreaterThanOrEqual(300);
    expect(clear?.playedMs).toBeLessThan(1200);
    expect((clear?.playedMs ?? 0) + (clear?.droppedMs ?? 0)).toBe(3000);
    expect(result.playedMsAtClear).toEqual([clear?.playedMs]);
    for (const mark of result.marks) {
      expect(mark.cleared).toBe(true);
      expect((mark.echoedAtMs ?? Infinity) - (clear?.atMs ?? 0)).toBeLessThan(50);
    }
    // Nothing plays after the clear (at most the frame that was sounding).
    expect(result.counts.agentMsHeard - (clear?.playedMs ?? 0)).toBeLessThanOrEqual(20);
  });

  it("records binary frames, bad JSON, wrong streamSid and extra fields as protocol errors", async () => {
    fake = await startFakeServer({
      onStream: async (ctx) => {
        const { streamSid } = await ctx.next("start");
        ctx.ws.send(Buffer.from([1, 2, 3]));
        ctx.ws.send("{not json");
        ctx.ws.send(JSON.stringify({ event: "clear", streamSid: "MZwrong" }));
        ctx.ws.send(JSON.stringify({ event: "media", streamSid, media: { payload: "//8=", track: "outbound" } }));
        ctx.ws.send(JSON.stringify({ event: "speak", streamSid }));
      },
    });
    const result = await call(fake, { speed: 4 }).done;
    expect(result.protocolErrors.map((e) => e.code)).toEqual([31950, 31951, 31951, 31951, 31951]);
    expect(result.counts.mediaReceived).toBe(0);
  });
});

describe("twilio simulator: refusals and endings", () => {
  it("reports a refused webhook, a wrong signature and TwiML without a stream", async () => {
    fake = await startFakeServer({ status: 404, twiml: "unknown number" });
    const refused = await call(fake).done;
    expect(refused).toMatchObject({ outcome: "http_error", webhook: { status: 404 } });
    expect(refused.error).toMatch(/404/);

    await fake.close();
    fake = await startFakeServer({ twiml: "<Response><Say voice=\"alice\">This number is not in service.</Say><Hangup/></Response>" });
    const forged = await call(fake, { webhookSignature: "invalid" }).done;
    expect(forged).toMatchObject({ outcome: "http_error", webhook: { status: 403 } });
    expect(fake.webhookSignatureValid).toEqual([false]);
    const said = await call(fake).done;
    expect(said.outcome).toBe("no_stream");
    expect(said.twiml).toMatchObject({ says: ["This number is not in service."], hangup: true });
    expect(said.error).toMatch(/not in service.*hangs up/);
  });

  it("reports a refused upgrade when the stream signature is wrong", async () => {
    fake = await startFakeServer();
    const result = await call(fake, { streamSignature: "invalid" }).done;
    expect(result.outcome).toBe("stream_refused");
    expect(result.error).toMatch(/403/);
    expect(fake.upgradeSignatureValid).toEqual([false]);
  });

  it("records the server closing the stream", async () => {
    fake = await startFakeServer({
      onStream: async (ctx) => {
        await ctx.next("media", 5);
        ctx.ws.close(1000, "agent hung up");
      },
    });
    const result = await call(fake).done;
    expect(result.outcome).toBe("server_closed");
    expect(result.close).toEqual({ code: 1000, reason: "agent hung up", by: "server" });
  });

  it("gives up after timeoutMs", async () => {
    const silent = createServer(() => {}); // accepts the webhook and never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const result = await placeCall({ serverOrigin: origin, webhookUrl: WEBHOOK_URL, authToken: AUTH_TOKEN, to: "+1555", fixture: tone(100), timeoutMs: 300 }).done;
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
    expect(result.outcome).toBe("timeout");
    expect(result.timeline.at(-1)?.kind).toBe("timeout");
  });

  it("only talks to loopback origins", () => {
    expect(() => placeCall({ serverOrigin: "http://example.com", webhookUrl: WEBHOOK_URL, authToken: "x", to: "+1", fixture: tone(20) })).toThrow(/loopback/);
  });
});

describe("parseTwiml", () => {
  it("reads <Connect><Stream> with parameters and unescapes entities", () => {
    const parsed = parseTwiml(STREAM_TWIML);
    expect(parsed.stream).toEqual({ url: "wss://example.test/media", parameters: { tenant: "t1", note: "a & b" } });
    expect(parsed.verbs.map((v) => v.verb)).toEqual(["Connect"]);
  });

  it("rejects what is not one well-formed <Response>", () => {
    expect(() => parseTwiml("<Response><Say>hi</Response>")).toThrow(/closes <Response>/);
    expect(() => parseTwiml("<html></html>")).toThrow(/<Response>/);
    expect(() => parseTwiml("<Response><Say>a < b</Say></Response>")).toThrow(/well-formed/);
  });
});

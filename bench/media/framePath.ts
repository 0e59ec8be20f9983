/**
 * The whole per-call media path, one 20 ms frame each way, through the real pieces: Twilio's JSON text →
 * parseTwilioFrame → CallSession (timeline, VAD tap, transcoder) → the provider's outbound message; and
 * provider audio → CallSession (transcoder, playout, frame writer) → Twilio's JSON text. Silero VAD runs
 * batched across all the calls on the shared tick, as in the server. Only the sockets are missing.
 */
import { PROVIDER_AGENT_DEFAULTS } from "../../providers/agentFields.js";
import { MULAW_8K, type AudioFormat } from "../../media/audioFormat.js";
import { initResamplers } from "../../media/resample/index.js";
import { parseTwilioFrame } from "../../media/twilioStream.js";
import { createVad, loadVadEngines, type VadEngines } from "../../media/vad/index.js";
import type { RealtimeProvider, RealtimeSession, RealtimeSessionHandlers } from "../../providers/types.js";
import { CallSession } from "../../sessions/index.js";
import type { BenchRow } from "./measure.js";

const FRAMES = 1_500; // 30 s of call audio per stream
/** Silero's tick in the server is 10 ms; with 20 ms frames that's a flush every frame at most. */
const FLUSH_EVERY_FRAMES = 1;

interface ProviderShape {
  readonly label: string;
  readonly input: AudioFormat;
  readonly output: AudioFormat;
  /** What the adapter wraps each chunk of caller audio in, built by concatenation as the adapters do. */
  readonly wrap: (b64: string) => string;
}

const SHAPES: readonly ProviderShape[] = [
  { label: "μ-law passthrough (OpenAI, xAI)", input: MULAW_8K, output: MULAW_8K, wrap: (b64) => '{"type":"input_audio_buffer.append","audio":"' + b64 + '"}' },
  {
    label: "PCM16 16 kHz in / 24 kHz out (Gemini)",
    input: { encoding: "pcm16", rate: 16000 },
    output: { encoding: "pcm16", rate: 24000 },
    wrap: (b64) => '{"realtimeInput":{"audio":{"data":"' + b64 + '","mimeType":"audio/pcm;rate=16000"}}}',
  },
];

const nothing = (): void => {};
const quietLog = { debug: nothing, info: nothing, warn: nothing, error: nothing };

/** One call wired to a provider that only builds its outbound messages, and a Twilio side that drops frames. */
async function openCall(shape: ProviderShape, engines: VadEngines, n: number) {
  let handlers: RealtimeSessionHandlers | null = null;
  let bytesOut = 0;
  const session: RealtimeSession = {
    capabilities: { canTruncate: true, hasServerVad: true, needsLocalTurns: false, transcribesCaller: true },
    inputFormat: shape.input,
    outputFormat: shape.output,
    appendAudio: (b64) => {
      bytesOut += shape.wrap(b64).length;
    },
    startGreeting: nothing,
    interrupt: nothing,
    sendToolResult: nothing,
    addContext: nothing,
    say: nothing,
    requestReply: nothing,
    close: nothing,
  };
  const provider: RealtimeProvider = {
    name: "bench",
    connect: async (_config, h) => {
      handlers = h;
      return session;
    },
  };
  let lastMark = "";
  let bargeIns = -1;
  const call = new CallSession({
    callId: `bench-${n}`,
    callSid: `CA${n}`,
    startedAt: new Date(),
    startedAtMono: performance.now(),
    provider,
    providerConfig: {
      callId: `bench-${n}`,
      instructions: "",
      greeting: null,
      aiSpeaksFirst: false,
      voice: "alloy",
      temperature: 0.7,
      vad: { threshold: 0.65, silenceDurationMs: 500, prefixPaddingMs: 300 },
      tools: [],
      agent: PROVIDER_AGENT_DEFAULTS,
      agentFieldsSet: new Set(),
      variables: {},
    },
    callLogs: {
      markInProgress: async () => {},
      finish: async (_id, outcome) => {
        bargeIns = Number(outcome.metadata.barge_ins);
      },
    },
    clock: { now: () => performance.now(), wallNow: () => new Date() },
    log: quietLog,
    vad: (h) => createVad("silero", { engines, callbacks: h }),
  });
  call.start();
  await new Promise((r) => setImmediate(r));
  call.attachStream(
    {
      send: (frame) => {
        bytesOut += frame.length;
        if (frame.charCodeAt(10) === 109 /* "mark" */) lastMark = frame;
      },
      close: nothing,
    },
    `MZ${n}`,
  );
  return {
    call,
    handlers: handlers!,
    lastMarkName: () => /"name":"([^"]+)"/.exec(lastMark)?.[1] ?? "",
    bytes: () => bytesOut,
    bargeIns: () => bargeIns,
  };
}

/**
 * Quiet line noise: the VAD and codecs do the same work whatever the audio (Silero's cost doesn't depend
 * on content), and the caller must not barge in, or the reply's audio would rightly be dropped.
 */
function callerPayloads(): string[] {
  const out: string[] = [];
  let seed = 7;
  for (let f = 0; f < 50; f++) {
    const bytes = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = 0xf8 + (seed % 8) - (seed & 0x100 ? 0x80 : 0);
    }
    out.push(bytes.toString("base64"));
  }
  return out;
}

/** 20 ms of provider audio in its output format, base64. */
function providerChunk(format: AudioFormat): string {
  if (format.encoding !== "pcm16") return Buffer.alloc(160, 0x55).toString("base64");
  const samples = (format.rate / 1000) * 20;
  return Buffer.from(Int16Array.from({ length: samples }, (_, i) => Math.round(6000 * Math.sin(i / 5))).buffer).toString("base64");
}

async function measure(shape: ProviderShape, engines: VadEngines, streams: number): Promise<{ inbound: number; outbound: number }> {
  const calls = await Promise.all(Array.from({ length: streams }, (_, n) => openCall(shape, engines, n)));
  const payloads = callerPayloads();
  const chunk = providerChunk(shape.output);
  const silero = engines.silero!;
  let inboundMs = 0;
  let outboundMs = 0;
  for (let f = 0; f < FRAMES; f++) {
    const payload = payloads[f % payloads.length]!;
    const ts = String(52 + f * 20);
    let t0 = performance.now();
    for (const c of calls) {
      // Twilio's frame as it arrives on the socket, then everything our server does with it.
      const text = '{"event":"media","sequenceNumber":"' + (f + 2) + '","media":{"track":"inbound","chunk":"' + (f + 1) + '","timestamp":"' + ts + '","payload":"' + payload + '"},"streamSid":"MZ1"}';
      const parsed = parseTwilioFrame(text);
      if (parsed.ok) c.call.onTwilioMessage(parsed.message);
    }
    if (f % FLUSH_EVERY_FRAMES === 0) await silero.flush();
    let t1 = performance.now();
    inboundMs += t1 - t0;
    t0 = performance.now();
    for (const c of calls) c.handlers.onAudio(chunk, "item-1");
    t1 = performance.now();
    outboundMs += t1 - t0;
    // Twilio echoes marks as the audio plays; keep the playout bookkeeping at its real size.
    if (f % 10 === 9) for (const c of calls) c.call.onTwilioMessage({ event: "mark", sequenceNumber: "1", streamSid: "MZ1", mark: { name: c.lastMarkName() } });
  }
  await Promise.all(calls.map((c) => c.call.end("stream_stopped")));
  // A barge-in would drop the reply's audio and make the outbound numbers meaningless.
  if (calls.some((c) => c.bargeIns() !== 0 || c.call.endReason !== "stream_stopped")) throw new Error("a bench call barged in or ended early");
  const perFrame = 1000 / (FRAMES * streams);
  return { inbound: inboundMs * perFrame, outbound: outboundMs * perFrame };
}

export interface FramePathResult {
  readonly rows: BenchRow[];
  /** µs per 20 ms frame, both directions, VAD batched at 32 calls, for the PCM provider. */
  readonly pcmTotalAt32: number;
}

export async function benchFramePath(): Promise<FramePathResult> {
  await initResamplers();
  const engines = await loadVadEngines({ webrtc: false });
  const rows: BenchRow[] = [];
  let pcmTotalAt32 = NaN;
  for (const shape of SHAPES) {
    // One untimed call first, so the first row measures the frame path and not the JIT warming up to it.
    await measure(shape, engines, 1);
    for (const streams of [1, 32]) {
      // Best of three: other processes on a shared box only ever add time.
      let best = { inbound: Infinity, outbound: Infinity };
      for (let run = 0; run < 3; run++) {
        const r = await measure(shape, engines, streams);
        best = { inbound: Math.min(best.inbound, r.inbound), outbound: Math.min(best.outbound, r.outbound) };
      }
      const vadNote = streams === 1 ? "Silero unbatched" : `Silero batched across ${streams} calls`;
      rows.push({ name: `frame path in: ${shape.label}, ${streams} call${streams > 1 ? "s" : ""}`, usPerFrame: best.inbound, notes: `parse + timeline + VAD (${vadNote}) + transcode + provider message` });
      rows.push({ name: `frame path out: ${shape.label}, ${streams} call${streams > 1 ? "s" : ""}`, usPerFrame: best.outbound, notes: "transcode + playout + media and mark frames" });
      if (shape.input.encoding === "pcm16" && streams === 32) pcmTotalAt32 = best.inbound + best.outbound;
    }
  }
  return { rows, pcmTotalAt32 };
}
